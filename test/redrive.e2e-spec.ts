import { Readable } from 'node:stream';
import { jest } from '@jest/globals';
import request from 'supertest';
import { STORAGE_BACKEND } from '../src/storage/storage-backend.interface.js';
import { TASK_TRANSPORT, type TaskTransport } from '../src/tasks/task-transport.interface.js';
import { InMemoryStorage } from '../src/testing/in-memory.storage.js';
import { UploadRedriver } from '../src/uploads/lifecycle/upload-redriver.service.js';
import { transportEnv } from './support/redis.js';
import { createTestApp, type TestApp } from './support/test-app.js';
import { until } from './support/until.js';

describe('Storage work lost between the record and the queue is queued again (BullMQ, real Redis, e2e)', () => {
  const backend = new InMemoryStorage();
  let t: TestApp;
  let cleanup: () => Promise<number>;
  let transport: TaskTransport;

  beforeAll(async () => {
    const bullmq = transportEnv('bullmq');
    cleanup = bullmq.cleanup;
    t = await createTestApp({ ...bullmq.env, REDRIVE_AFTER_MS: 1000 }, (b) => b.overrideProvider(STORAGE_BACKEND).useValue(backend));
    transport = t.app.get<TaskTransport>(TASK_TRANSPORT);
  });
  afterEach(() => jest.restoreAllMocks());
  afterAll(async () => {
    await t.close();
    await cleanup();
  });

  it('stores an acknowledged upload whose queue.add failed after the record was written', async () => {
    // The fault sits exactly between the record write and queue.add: Redis went away for that one call.
    const dispatch = jest.spyOn(transport, 'dispatch').mockRejectedValueOnce(new Error('Connection is closed.'));

    const accepted = await request(t.server).post('/uploads').attach('file', Buffer.from('queued late'), 'late.txt').expect(202);
    expect((await t.uploads.get(accepted.body.id)).status).toBe('received');

    await expect(t.uploads.waitUntilSettled(accepted.body.id, { timeoutMs: 10_000 })).resolves.toMatchObject({ status: 'stored' });
    expect(dispatch.mock.calls.map(([task]) => task.uploadId)).toEqual([accepted.body.id, accepted.body.id]);
  });

  it('leaves alone an old unsettled upload whose task is still running', async () => {
    const release = backend.hold();
    const record = await t.uploads.upload(Readable.from([Buffer.from('slow to store')]), { filename: 'slow.txt' });
    await until('the store to be running', async () => backend.started.includes(record.id) || undefined);
    const dispatch = jest.spyOn(transport, 'dispatch');
    // As seen a minute later: the upload is old enough, but its job is still held by a worker.
    const later = Date.now() + 60_000;
    jest.spyOn(Date, 'now').mockReturnValue(later);

    await expect(t.app.get(UploadRedriver).redrive()).resolves.toBe(0);
    expect(dispatch).not.toHaveBeenCalled();

    jest.restoreAllMocks();
    release();
    await expect(t.uploads.waitUntilSettled(record.id, { timeoutMs: 10_000 })).resolves.toMatchObject({ status: 'stored' });
  });
});
