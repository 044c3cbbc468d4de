import request from 'supertest';
import { HASH_THREAD_MIN_BYTES } from '../src/storage/staging-area.js';
import { STORAGE_BACKEND } from '../src/storage/storage-backend.interface.js';
import { InMemoryStorage } from '../src/testing/in-memory.storage.js';
import { createTestApp, type TestApp } from './support/test-app.js';
import { randomFile, sha256 } from './support/multipart.js';
import { transportEnv, type TestTransport } from './support/redis.js';
import { settledOverHttp } from './support/settled.js';

// The same behaviour with storage work in-process and through BullMQ (real Redis, private key prefix).
const TRANSPORTS: TestTransport[] = ['memory', 'bullmq'];

describe.each(TRANSPORTS)('Uploads (e2e), %s transport', (transport) => {
  const { env, cleanup } = transportEnv(transport);
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp(env);
  });
  afterAll(async () => {
    await t.close();
    await cleanup();
  });

  it('answers 202 with the record and Location, stores in the background, and serves the same bytes', async () => {
    const file = randomFile(1024 * 1024 + 17);
    const res = await request(t.server)
      .post('/uploads')
      .attach('file', file, { filename: 'data.bin', contentType: 'application/octet-stream' })
      .expect(202);

    expect(res.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      status: 'received',
      filename: 'data.bin',
      mimeType: 'application/octet-stream',
      size: file.length,
      sha256: sha256(file),
      receivedAt: expect.any(String),
      updatedAt: expect.any(String),
      attempts: 0,
      message: 'File upload started',
    });
    expect(res.headers.location).toBe(`/uploads/${res.body.id}`);

    const settled = await settledOverHttp(t.server, res.body.id);
    expect(settled).toMatchObject({ status: 'stored', storedAt: expect.any(String), sha256: sha256(file) });

    const download = await request(t.server).get(`/uploads/${res.body.id}/content`).responseType('blob').expect(200);
    expect(Buffer.compare(download.body as Buffer, file)).toBe(0);
    expect(download.headers).toMatchObject({
      'content-type': 'application/octet-stream',
      'content-length': String(file.length),
      etag: `"${sha256(file)}"`,
      'content-disposition': 'attachment; filename="data.bin"',
    });
    expect(await t.staged()).toEqual([]);
  });

  it('hashes a large upload (over the 8 MiB at which a helper thread takes the hashing) to the right SHA-256', async () => {
    const file = randomFile(HASH_THREAD_MIN_BYTES + 1_000_003);
    const res = await request(t.server).post('/uploads').attach('file', file, 'large.bin').expect(202);
    expect(res.body).toMatchObject({ size: file.length, sha256: sha256(file) });
    await expect(settledOverHttp(t.server, res.body.id)).resolves.toMatchObject({ status: 'stored', sha256: sha256(file) });
    // The same bytes under the wrong expected checksum are still refused.
    await request(t.server).post('/uploads').field('sha256', '0'.repeat(64)).attach('file', file, 'large.bin').expect(422);
    expect(await t.staged()).toEqual([]);
  });

  it('serves single byte ranges with 206 and refuses unsatisfiable ones with 416', async () => {
    const file = Buffer.from('0123456789abcdef');
    const { body } = await request(t.server).post('/uploads').attach('file', file, 'digits.txt').expect(202);
    await t.uploads.waitUntilSettled(body.id);

    const part = await request(t.server).get(`/uploads/${body.id}/content`).set('Range', 'bytes=4-7').expect(206);
    expect(part.text).toBe('4567');
    expect(part.headers['content-range']).toBe('bytes 4-7/16');

    const tail = await request(t.server).get(`/uploads/${body.id}/content`).set('Range', 'bytes=-3').expect(206);
    expect(tail.text).toBe('def');

    const bad = await request(t.server).get(`/uploads/${body.id}/content`).set('Range', 'bytes=100-200').expect(416);
    expect(bad.headers['content-range']).toBe('bytes */16');

    await request(t.server)
      .get(`/uploads/${body.id}/content`)
      .set('If-None-Match', `"${sha256(file)}"`)
      .expect(304);
  });

  it('keeps a non-ASCII filename exactly, NFC-normalized, and offers it with filename*', async () => {
    const name = 'résumé 报告 😀 e\u0301.txt';
    const { body } = await request(t.server).post('/uploads').attach('file', Buffer.from('hi'), name).expect(202);
    expect(body.filename).toBe(name.normalize('NFC'));
    await t.uploads.waitUntilSettled(body.id);

    const res = await request(t.server).get(`/uploads/${body.id}/content`).expect(200);
    expect(res.headers['content-disposition']).toContain(`filename*=UTF-8''${encodeURIComponent(name.normalize('NFC'))}`);
  });

  it('judges the type by the leading bytes, not only by what the client declared', async () => {
    const png = Buffer.from(
      '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a5f8d1a80000000049454e44ae426082',
      'hex',
    );
    const { body } = await request(t.server)
      .post('/uploads')
      .attach('file', png, { filename: 'pic.txt', contentType: 'text/plain' })
      .expect(202);
    expect(body.mimeType).toBe('image/png');
  });

  it('lists newest first with a cursor, filtered by status, and validates the query', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const { body } = await request(t.server)
        .post('/uploads')
        .attach('file', Buffer.from(`n${i}`), `n${i}.txt`)
        .expect(202);
      ids.push(body.id as string);
    }
    await Promise.all(ids.map((id) => t.uploads.waitUntilSettled(id)));

    const first = await request(t.server).get('/uploads?limit=2&status=stored').expect(200);
    expect(first.body.items.map((r: { id: string }) => r.id)).toEqual([ids[4], ids[3]]);
    const second = await request(t.server).get(`/uploads?limit=2&status=stored&cursor=${first.body.nextCursor}`).expect(200);
    expect(second.body.items.map((r: { id: string }) => r.id)).toEqual([ids[2], ids[1]]);

    const bad = await request(t.server).get('/uploads?limit=500&status=nope&cursor=x').expect(400);
    expect(bad.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    const message = (bad.body.message as string[]).join(' ');
    expect(message).toMatch(/limit/);
    expect(message).toMatch(/status/);
    expect(message).toMatch(/cursor/);
  });

  it('answers 404 for an unknown id and 400 for a malformed one', async () => {
    const missing = await request(t.server).get('/uploads/01939a4e-7f1c-7b3a-9c1d-2f4e5a6b7c8d').expect(404);
    expect(missing.body).toMatchObject({ statusCode: 404, error: 'Not Found', code: 'UPLOAD_NOT_FOUND' });
    await request(t.server).get('/uploads/not-an-id').expect(400);
    await request(t.server).get('/uploads/..%2F..%2Fetc%2Fpasswd/content').expect(400);
    await request(t.server).delete('/uploads/01939a4e-7f1c-7b3a-9c1d-2f4e5a6b7c8d').expect(404);
  });

  it('deletes bytes and record with 204', async () => {
    const { body } = await request(t.server).post('/uploads').attach('file', Buffer.from('bye'), 'bye.txt').expect(202);
    await t.uploads.waitUntilSettled(body.id);
    await request(t.server).delete(`/uploads/${body.id}`).expect(204);
    await request(t.server).get(`/uploads/${body.id}`).expect(404);
    await request(t.server).get(`/uploads/${body.id}/content`).expect(404);
  });

  it('stores 50 concurrent uploads, each with the right hash', async () => {
    const files = Array.from({ length: 50 }, (_, i) => randomFile(1000 + i * 997));
    const responses = await Promise.all(files.map((f, i) => request(t.server).post('/uploads').attach('file', f, `c${i}.bin`)));
    expect(responses.map((r) => r.status)).toEqual(files.map(() => 202));

    const records = await Promise.all(responses.map((r) => t.uploads.waitUntilSettled(r.body.id as string)));
    records.forEach((record, i) => expect(record).toMatchObject({ status: 'stored', size: files[i].length, sha256: sha256(files[i]) }));
    const downloads = await Promise.all(records.map((r) => request(t.server).get(`/uploads/${r.id}/content`).responseType('blob')));
    downloads.forEach((d, i) => expect(sha256(d.body as Buffer)).toBe(sha256(files[i])));
  });

  it('reports a writable storage root and free disk on /health', async () => {
    const res = await request(t.server).get('/health').expect(200);
    expect(res.body).toMatchObject({ status: 'ok', details: { storage: { status: 'up', freeBytes: expect.any(Number) } } });
  });

  it('publishes an OpenAPI document whose upload operation has a binary file picker', async () => {
    const res = await request(t.server).get('/docs-json').expect(200);
    const op = res.body.paths['/uploads'].post;
    const schemaRef = op.requestBody.content['multipart/form-data'].schema.$ref as string;
    const schema = res.body.components.schemas[schemaRef.split('/').pop()!];
    expect(schema.properties.file).toMatchObject({ type: 'string', format: 'binary' });
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['202', '400', '413', '415', '422']));
    await request(t.server).get('/docs').expect(200);
  });
});

describe.each(TRANSPORTS)('Uploads (e2e): ordering and restart, %s transport', (transport) => {
  const { env, cleanup } = transportEnv(transport);
  afterAll(() => cleanup());

  it('sends the 202 before the storage work finishes, and 409 for content until then', async () => {
    const backend = new InMemoryStorage();
    const release = backend.hold();
    const t = await createTestApp(env, (b) => b.overrideProvider(STORAGE_BACKEND).useValue(backend));
    try {
      const res = await request(t.server).post('/uploads').attach('file', Buffer.from('held'), 'held.txt').expect(202);
      expect(res.body.status).toBe('received');

      const conflict = await request(t.server).get(`/uploads/${res.body.id}/content`).expect(409);
      expect(conflict.body).toMatchObject({ statusCode: 409, code: 'UPLOAD_NOT_STORED' });
      expect(backend.objects.has(res.body.id)).toBe(false);

      release();
      const record = await t.uploads.waitUntilSettled(res.body.id);
      expect(record.status).toBe('stored');
      await request(t.server).get(`/uploads/${res.body.id}/content`).expect(200, 'held');
    } finally {
      await t.close();
    }
  });

  it('keeps records and bytes readable across a restart on the same storage root', async () => {
    const first = await createTestApp(env);
    const file = randomFile(4096);
    const { body } = await request(first.server).post('/uploads').attach('file', file, 'keep.bin').expect(202);
    await first.uploads.waitUntilSettled(body.id);
    await first.close({ keepRoot: true });

    const second = await createTestApp(env, undefined, first.root);
    try {
      const record = await request(second.server).get(`/uploads/${body.id}`).expect(200);
      expect(record.body).toMatchObject({ status: 'stored', sha256: sha256(file) });
      const download = await request(second.server).get(`/uploads/${body.id}/content`).responseType('blob').expect(200);
      expect(Buffer.compare(download.body as Buffer, file)).toBe(0);
    } finally {
      await second.close();
    }
  });
});
