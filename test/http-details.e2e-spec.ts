import { createHash } from 'node:crypto';
import request from 'supertest';
import { StorageError } from '../src/domain/errors/storage.error.js';
import { STORAGE_BACKEND } from '../src/storage/storage-backend.interface.js';
import { InMemoryStorage } from '../src/testing/in-memory.storage.js';
import { parsePrometheusText, sampleValue } from './support/prometheus.js';
import { createTestApp, type TestApp } from './support/test-app.js';

describe('HTTP details a client relies on (e2e)', () => {
  const backend = new InMemoryStorage();
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({}, (b) => b.overrideProvider(STORAGE_BACKEND).useValue(backend));
  });
  afterAll(() => t.close());

  const stored = async (content: string, filename: string) => {
    const { body } = await request(t.server).post('/uploads').attach('file', Buffer.from(content), filename).expect(202);
    await t.uploads.waitUntilSettled(body.id, { timeoutMs: 5000 });
    return body as { id: string; filename: string };
  };

  it('compares If-None-Match weakly: W/"<etag>", a list holding it, and * are 304; another tag is 200', async () => {
    const { id } = await stored('cached bytes', 'c.txt');
    const etag = `"${createHash('sha256').update('cached bytes').digest('hex')}"`;
    for (const header of [etag, `W/${etag}`, `"other", W/${etag}`, '*']) {
      await request(t.server).get(`/uploads/${id}/content`).set('If-None-Match', header).expect(304);
    }
    await request(t.server).get(`/uploads/${id}/content`).set('If-None-Match', '"other"').expect(200);
  });

  it('offers a Latin-1 name with filename* and an ASCII filename, so curl -OJ saves valid UTF-8', async () => {
    const { id } = await stored('bonjour', 'Café.txt');
    const res = await request(t.server).get(`/uploads/${id}/content`).expect(200);
    expect(res.headers['content-disposition']).toBe(`attachment; filename="Cafe.txt"; filename*=UTF-8''Caf%C3%A9.txt`);
  });

  it('cuts a name over 255 bytes before its extension, on a character boundary', async () => {
    const { filename } = await stored('long', `${'très-long-'.repeat(40)}.pdf`);
    expect(Buffer.byteLength(filename)).toBeLessThanOrEqual(255);
    expect(filename).toMatch(/^très-long-.*…\.pdf$/);
  });

  it('counts POST /uploads/{id}/retry as a retry in /metrics, not as a new upload', async () => {
    const before = parsePrometheusText((await request(t.server).get('/metrics').expect(200)).text);
    backend.failNext(new StorageError('PERMISSION_DENIED', 'denied'));
    const { body } = await request(t.server).post('/uploads').attach('file', Buffer.from('again'), 'again.txt').expect(202);
    await expect(t.uploads.waitUntilSettled(body.id, { timeoutMs: 5000 })).rejects.toThrow(/failed/);
    await request(t.server).post(`/uploads/${body.id}/retry`).expect(202);
    await t.uploads.waitUntilSettled(body.id, { timeoutMs: 5000 });

    const after = parsePrometheusText((await request(t.server).get('/metrics').expect(200)).text);
    const delta = (name: string) => (sampleValue(after, name) ?? 0) - (sampleValue(before, name) ?? 0);
    expect({
      received: delta('stowage_uploads_received_total'),
      retried: delta('stowage_uploads_retried_total'),
      stored: delta('stowage_uploads_stored_total'),
    }).toEqual({
      received: 1,
      retried: 1,
      stored: 1,
    });
  });
});
