import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getQueueToken } from '@nestjs/bullmq';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import request from 'supertest';
import { RedisRecordRepository } from '../src/records/redis-record.repository.js';
import { STORAGE_BACKEND } from '../src/storage/storage-backend.interface.js';
import { StorageError } from '../src/domain/errors/storage.error.js';
import { STORAGE_JOB_PROCESSOR } from '../src/uploads/module/bullmq.providers.js';
import type { StorageJobProcessor } from '../src/tasks/storage-job.processor.js';
import { UPLOADS_QUEUE } from '../src/tasks/storage-job.js';
import { TASK_TRANSPORT, type TaskTransport } from '../src/tasks/task-transport.interface.js';
import { InMemoryStorage } from '../src/testing/in-memory.storage.js';
import { FileReceivedEvent } from '../src/domain/events/file-received.event.js';
import type { UploadRecord } from '../src/domain/upload-record.js';
import { randomFile, sha256 } from './support/multipart.js';
import { parsePrometheusText, sampleValue } from './support/prometheus.js';
import { bullmqEnv, deleteKeysUnder, keysUnder, TEST_REDIS_URL, testRedisPrefix } from './support/redis.js';
import { createTestApp, type EnvOverrides, type TestApp } from './support/test-app.js';

const transient = () => new StorageError('IO_ERROR', 'disk hiccup');

function queueOf(t: TestApp): Queue {
  return t.app.get<Queue>(getQueueToken(UPLOADS_QUEUE), { strict: false });
}

async function queueCounts(t: TestApp) {
  return queueOf(t).getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed');
}

const EMPTY_QUEUE = { waiting: 0, active: 0, delayed: 0, prioritized: 0, completed: 0, failed: 0 };

/** The record settles inside the job, a moment before BullMQ marks the job done: allow that moment. */
async function expectQueueEmpties(t: TestApp): Promise<void> {
  let counts = await queueCounts(t);
  for (let i = 0; i < 100 && Object.values(counts).some((n) => n > 0); i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    counts = await queueCounts(t);
  }
  expect(counts).toEqual(EMPTY_QUEUE);
}

/** Resolves with the record once another process has settled it: no local event to wait for, so read it. */
async function settledOver(t: TestApp, id: string): Promise<UploadRecord> {
  for (let i = 0; i < 400; i += 1) {
    const record = (await request(t.server).get(`/uploads/${id}`).expect(200)).body as UploadRecord;
    if (record.status === 'stored' || record.status === 'failed') return record;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`upload ${id} did not settle`);
}

describe('BullMQ transport (e2e, real Redis)', () => {
  const apps: TestApp[] = [];
  const prefixes: string[] = [];

  /** An app on the bullmq transport under a private prefix (or `prefix`, to share one). */
  async function bullApp(env: EnvOverrides = {}, backend?: InMemoryStorage, root?: string, prefix = testRedisPrefix()): Promise<TestApp> {
    prefixes.push(prefix);
    const t = await createTestApp(
      { ...bullmqEnv(prefix), ...env },
      (b) => (backend ? b.overrideProvider(STORAGE_BACKEND).useValue(backend) : b),
      root,
    );
    apps.push(t);
    return t;
  }

  afterEach(async () => {
    // Closed in reverse: a worker sharing a root with an API must not delete it first.
    for (const t of apps.splice(0).reverse()) await t.close({ keepRoot: true });
    for (const prefix of prefixes.splice(0)) await deleteKeysUnder(prefix);
  });

  it('keeps the record in Redis, stores through the queue, reports Redis on /health and leaves the queue empty', async () => {
    const prefix = testRedisPrefix();
    const t = await bullApp({}, undefined, undefined, prefix);
    const file = randomFile(10_000);
    const { body } = await request(t.server).post('/uploads').attach('file', file, 'a.bin').expect(202);
    await t.uploads.waitUntilSettled(body.id);

    const outside = new RedisRecordRepository(new Redis(TEST_REDIS_URL), prefix);
    try {
      expect(await outside.get(body.id)).toMatchObject({ status: 'stored', sha256: sha256(file), attempts: 1 });
    } finally {
      await outside.onApplicationShutdown();
    }
    await expectQueueEmpties(t);
    const health = await request(t.server).get('/health').expect(200);
    expect(health.body.details.redis).toMatchObject({ status: 'up', latencyMs: expect.any(Number) });
    await rm(t.root, { recursive: true, force: true });
  });

  it('retries through BullMQ with the module backoff (equal-jitter exponential), then stores', async () => {
    const backend = new InMemoryStorage().failNext(transient()).failNext(transient());
    const t = await bullApp({ RETRY_ATTEMPTS: 3, RETRY_BASE_DELAY_MS: 1000, RETRY_MAX_DELAY_MS: 10_000 }, backend);
    const worker = t.app.get<StorageJobProcessor>(STORAGE_JOB_PROCESSOR, { strict: false }).worker;
    const queue = queueOf(t);

    const failed = once(worker, 'failed');
    const { body } = await request(t.server).post('/uploads').attach('file', Buffer.from('retry me'), 'r.txt').expect(202);
    await failed;
    let [job] = await queue.getDelayed();
    // backoffDelay after attempt 1: base 1000 → between 500 and 1000.
    expect(job.delay).toBeGreaterThanOrEqual(500);
    expect(job.delay).toBeLessThanOrEqual(1000);

    const failedAgain = once(worker, 'failed');
    await job.promote();
    await failedAgain;
    [job] = await queue.getDelayed();
    // After attempt 2: 2000 → between 1000 and 2000.
    expect(job.delay).toBeGreaterThanOrEqual(1000);
    expect(job.delay).toBeLessThanOrEqual(2000);

    await job.promote();
    const record = await t.uploads.waitUntilSettled(body.id);
    expect(record).toMatchObject({ status: 'stored', attempts: 3 });
    await expectQueueEmpties(t);
    await rm(t.root, { recursive: true, force: true });
  });

  it('ends the upload failed when the attempts are used up, emits file.failed, and can retry it later', async () => {
    const backend = new InMemoryStorage().failNext(transient()).failNext(transient());
    const t = await bullApp({ RETRY_ATTEMPTS: 2 }, backend);
    const failedEvent = once(t.app.get(EventEmitter2), 'file.failed');
    const { body } = await request(t.server).post('/uploads').attach('file', Buffer.from('doomed'), 'd.txt').expect(202);

    await expect(t.uploads.waitUntilSettled(body.id)).rejects.toMatchObject({
      record: { status: 'failed', attempts: 2, error: { code: 'IO_ERROR' } },
    });
    const [event] = await failedEvent;
    expect(event).toMatchObject({ uploadId: body.id, attempts: 2 });
    await expectQueueEmpties(t);

    // The finished job is gone, so the same job id can be queued again.
    await request(t.server).post(`/uploads/${body.id}/retry`).expect(202);
    expect(await t.uploads.waitUntilSettled(body.id)).toMatchObject({ status: 'stored' });
    await rm(t.root, { recursive: true, force: true });
  });

  it('queues an upload once however often it is dispatched while its job is pending (job id = upload id)', async () => {
    const backend = new InMemoryStorage();
    const release = backend.hold();
    const t = await bullApp({}, backend);
    const { body } = await request(t.server).post('/uploads').attach('file', Buffer.from('once'), 'o.txt').expect(202);
    for (let i = 0; i < 200 && !backend.started.includes(body.id); i += 1) await new Promise((r) => setTimeout(r, 5));
    expect(backend.started).toEqual([body.id]);

    const transport = t.app.get<TaskTransport>(TASK_TRANSPORT, { strict: false });
    const event = FileReceivedEvent.fromRecord(await t.uploads.get(body.id));
    await Promise.all([transport.dispatch(event), transport.dispatch(event), transport.dispatch(event)]);
    expect(await queueCounts(t)).toMatchObject({ active: 1, waiting: 0, delayed: 0 });

    release();
    await t.uploads.waitUntilSettled(body.id);
    expect(backend.started).toEqual([body.id]);
    await expectQueueEmpties(t);
    await rm(t.root, { recursive: true, force: true });
  });

  it('splits API and worker: the API only queues, the worker stores; file.stored fires on the worker, and the API sees the result', async () => {
    const prefix = testRedisPrefix();
    const root = await mkdtemp(join(tmpdir(), 'stowage-e2e-'));
    try {
      const api = await bullApp({ ROLE: 'api' }, undefined, root, prefix);
      const worker = await bullApp({ ROLE: 'worker' }, undefined, root, prefix);
      const onApi: string[] = [];
      const onWorker: string[] = [];
      for (const name of ['file.received', 'file.stored', 'file.failed']) {
        api.app.get(EventEmitter2).on(name, () => onApi.push(name));
        worker.app.get(EventEmitter2).on(name, () => onWorker.push(name));
      }
      expect(() => api.app.get(STORAGE_JOB_PROCESSOR, { strict: false })).toThrow();
      await request(worker.server).post('/uploads').attach('file', Buffer.from('x'), 'x.txt').expect(404);

      const file = randomFile(50_000);
      const { body } = await request(api.server).post('/uploads').attach('file', file, 'split.bin').expect(202);
      // No file.stored in the API process: its waiters are woken through the queue's events.
      expect(await api.uploads.waitUntilSettled(body.id, { timeoutMs: 10_000 })).toMatchObject({ status: 'stored', sha256: sha256(file) });
      const download = await request(api.server).get(`/uploads/${body.id}/content`).responseType('blob').expect(200);
      expect(sha256(download.body as Buffer)).toBe(sha256(file));
      expect(onApi).toEqual(['file.received']);
      expect(onWorker).toEqual(['file.stored']);
      // Each process's /metrics counts what it did: Prometheus sums them over the processes.
      const metricsOf = async (t: TestApp) => parsePrometheusText((await request(t.server).get('/metrics').expect(200)).text);
      const [apiMetrics, workerMetrics] = [await metricsOf(api), await metricsOf(worker)];
      expect(sampleValue(apiMetrics, 'stowage_uploads_received_total')).toBe(1);
      expect(sampleValue(apiMetrics, 'stowage_uploads_stored_total')).toBe(0);
      expect(sampleValue(workerMetrics, 'stowage_uploads_received_total')).toBe(0);
      expect(sampleValue(workerMetrics, 'stowage_uploads_stored_total')).toBe(1);
      await request(worker.server).get('/health').expect(200);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('fails the upload with STAGING_UNREACHABLE, at once, when the worker does not share the storage root', async () => {
    const prefix = testRedisPrefix();
    const api = await bullApp({ ROLE: 'api', RETRY_ATTEMPTS: 5 }, undefined, undefined, prefix);
    const worker = await bullApp({ ROLE: 'worker', RETRY_ATTEMPTS: 5 }, undefined, undefined, prefix); // its own temp root
    try {
      const { body } = await request(api.server).post('/uploads').attach('file', Buffer.from('elsewhere'), 'e.txt').expect(202);
      const record = await settledOver(api, body.id);
      expect(record).toMatchObject({
        status: 'failed',
        attempts: 1,
        error: { code: 'STAGING_UNREACHABLE', message: expect.stringMatching(/storage root shared/) },
      });
      await expectQueueEmpties(api);
    } finally {
      await rm(api.root, { recursive: true, force: true });
      await rm(worker.root, { recursive: true, force: true });
    }
  });

  it('ends the upload failed when BullMQ gives up on a job the worker still wanted to retry', async () => {
    const prefix = testRedisPrefix();
    const root = await mkdtemp(join(tmpdir(), 'stowage-e2e-'));
    const backend = new InMemoryStorage().failWhen(() => true, transient());
    try {
      // The API queues with one attempt; the worker's own policy would allow five.
      const api = await bullApp({ ROLE: 'api', RETRY_ATTEMPTS: 1 }, undefined, root, prefix);
      await bullApp({ ROLE: 'worker', RETRY_ATTEMPTS: 5 }, backend, root, prefix);
      const { body } = await request(api.server).post('/uploads').attach('file', Buffer.from('gives up'), 'g.txt').expect(202);
      expect(await settledOver(api, body.id)).toMatchObject({ status: 'failed', error: { code: 'IO_ERROR' } });
      await expectQueueEmpties(api);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('refuses to start without a reachable Redis or with a role that needs the queue', async () => {
    const startError = async (env: EnvOverrides): Promise<unknown> => {
      const root = await mkdtemp(join(tmpdir(), 'stowage-e2e-'));
      try {
        const started = await createTestApp(env, undefined, root).catch((err: unknown) => ({ err }));
        if ('err' in started) return started.err;
        await started.close();
        throw new Error(`started with ${JSON.stringify(env)}`);
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    };
    // Every variable that matters is given, whatever the environment has ('' counts as unset).
    expect(await startError({ TASK_TRANSPORT: 'bullmq', REDIS_URL: '' })).toMatchObject({
      message: expect.stringMatching(/REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/),
    });
    expect(await startError({ TASK_TRANSPORT: 'memory', ROLE: 'api' })).toMatchObject({
      message: expect.stringMatching(/ROLE=api needs TASK_TRANSPORT=bullmq/),
    });
    const prefix = testRedisPrefix();
    expect(await startError({ ...bullmqEnv(prefix), REDIS_URL: 'redis://user:secret@127.0.0.1:6390' })).toMatchObject({
      message: expect.stringMatching(/Redis at redis:\/\/user:\*\*\*@127\.0\.0\.1:6390 is not reachable/),
    });
    expect(await keysUnder(prefix)).toEqual([]);
  });
});
