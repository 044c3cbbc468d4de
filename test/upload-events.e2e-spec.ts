import request from 'supertest';
import { v7 as uuidv7 } from 'uuid';
import { UPLOAD_RECORD_REPOSITORY, type UploadRecordRepository } from '../src/records/upload-record-repository.interface.js';
import { STORAGE_BACKEND } from '../src/storage/storage-backend.interface.js';
import { StorageError } from '../src/domain/errors/storage.error.js';
import { InMemoryStorage } from '../src/testing/in-memory.storage.js';
import { baseUrl } from './support/multipart.js';
import { sampleRecord } from './support/record-repository-contract.js';
import { openEventStream, type ServerSentEvent } from './support/sse.js';
import { createTestApp, type EnvOverrides } from './support/test-app.js';

const statusOf = (e: ServerSentEvent) => (JSON.parse(e.data) as { status: string }).status;

/**
 * One storage slot, taken by a held upload: every upload after it stays `received` until the test
 * releases the backend, so a stream can be opened at a known status. No polling, so every event
 * seen comes from this process's domain events.
 */
async function appWithHeldStorage(env: EnvOverrides = {}) {
  const backend = new InMemoryStorage();
  const release = backend.hold();
  const t = await createTestApp({ STORAGE_CONCURRENCY: 1, STATUS_POLL_INTERVAL_MS: 0, ...env }, (b) =>
    b.overrideProvider(STORAGE_BACKEND).useValue(backend),
  );
  const blocker = await request(t.server).post('/uploads').attach('file', Buffer.from('first in line'), 'blocker.txt').expect(202);
  return { t, backend, release, blockerId: blocker.body.id as string, url: await baseUrl(t.server) };
}

describe('Live status over Server-Sent Events (e2e)', () => {
  it('sends the current record at once, then `stored`, then ends the stream', async () => {
    const { t, release, blockerId, url } = await appWithHeldStorage();
    try {
      const { body } = await request(t.server).post('/uploads').attach('file', Buffer.from('watch me'), 'watched.txt').expect(202);
      const stream = await openEventStream(`${url}/uploads/${body.id}/events`);
      expect(stream.status).toBe(200);
      expect(stream.headers['content-type']).toMatch(/^text\/event-stream/);

      const first = await stream.next();
      expect(first.event).toBe('status');
      expect(JSON.parse(first.data)).toMatchObject({ id: body.id, status: 'received', filename: 'watched.txt', size: 8 });

      release();
      const rest = await stream.ended();
      expect(rest.map(statusOf)).toEqual(['stored']);
      expect(JSON.parse(rest[0].data)).toMatchObject({ id: body.id, storedAt: expect.any(String) });
      await t.uploads.waitUntilSettled(blockerId);
    } finally {
      release();
      await t.close();
    }
  });

  it('ends with `failed` and the reason when storage gives up', async () => {
    const { t, backend, release, url } = await appWithHeldStorage();
    try {
      const { body } = await request(t.server).post('/uploads').attach('file', Buffer.from('doomed'), 'doomed.txt').expect(202);
      backend.failWhen((key) => key === body.id, new StorageError('PERMISSION_DENIED', 'permission denied'));
      const stream = await openEventStream(`${url}/uploads/${body.id}/events`);
      expect(statusOf(await stream.next())).toBe('received');

      release();
      const rest = await stream.ended();
      expect(rest.map(statusOf)).toEqual(['failed']);
      expect(JSON.parse(rest[0].data)).toMatchObject({
        status: 'failed',
        error: { code: 'PERMISSION_DENIED', message: expect.stringContaining('permission denied') },
      });
    } finally {
      release();
      await t.close();
    }
  });

  it('answers a stream opened after the upload settled with one event, then ends it', async () => {
    const t = await createTestApp();
    try {
      const { body } = await request(t.server).post('/uploads').attach('file', Buffer.from('done already'), 'done.txt').expect(202);
      await t.uploads.waitUntilSettled(body.id);
      const stream = await openEventStream(`${await baseUrl(t.server)}/uploads/${body.id}/events`);
      const events = await stream.ended();
      expect(events.map(statusOf)).toEqual(['stored']);
    } finally {
      await t.close();
    }
  });

  it('sees changes made by another process through the record repository alone', async () => {
    // No domain event in this process: only the poll of the shared record store can see these.
    const t = await createTestApp({ STATUS_POLL_INTERVAL_MS: 20 });
    try {
      const records = t.app.get<UploadRecordRepository>(UPLOAD_RECORD_REPOSITORY);
      const record = sampleRecord({ filename: 'elsewhere.bin' });
      await records.create(record);
      const { id } = record;

      const stream = await openEventStream(`${await baseUrl(t.server)}/uploads/${id}/events`);
      expect(statusOf(await stream.next())).toBe('received');
      await records.transition(id, ['received'], { status: 'processing', attempts: 1 });
      expect(statusOf(await stream.next())).toBe('processing');
      await records.transition(id, ['processing'], { status: 'stored', storedAt: new Date().toISOString() });
      expect((await stream.ended()).map(statusOf)).toEqual(['stored']);
    } finally {
      await t.close();
    }
  });

  it('answers 404 for an unknown id and 400 for a malformed one, before any stream starts', async () => {
    const t = await createTestApp();
    try {
      const url = await baseUrl(t.server);
      const unknown = await openEventStream(`${url}/uploads/${uuidv7()}/events`);
      await unknown.ended();
      expect(unknown.status).toBe(404);
      expect(unknown.headers['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(unknown.body())).toMatchObject({ statusCode: 404, code: 'UPLOAD_NOT_FOUND' });

      const malformed = await openEventStream(`${url}/uploads/not-an-id/events`);
      await malformed.ended();
      expect(malformed.status).toBe(400);
    } finally {
      await t.close();
    }
  });

  it('ends open streams at shutdown instead of holding it', async () => {
    const { t, release, url } = await appWithHeldStorage();
    const { body } = await request(t.server).post('/uploads').attach('file', Buffer.from('pending'), 'pending.txt').expect(202);
    const stream = await openEventStream(`${url}/uploads/${body.id}/events`);
    expect(statusOf(await stream.next())).toBe('received');

    const closing = t.close();
    try {
      expect(await stream.ended(2_000)).toEqual([]);
    } finally {
      // Without the fix the server waits for this client; leaving lets the test fail instead of hang.
      stream.close();
      release();
      await closing;
    }
  });
});
