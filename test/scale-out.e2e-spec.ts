import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { randomFile, sha256 } from './support/multipart.js';
import { bullmqEnv, deleteKeysUnder, TEST_REDIS_URL, testRedisPrefix } from './support/redis.js';
import { freePort, type ServiceProcess, spawnService, waitHealthy } from './support/service-process.js';
import { until } from './support/until.js';

const UPLOADS = 200;

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: limit }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  });
  await Promise.all(lanes);
  return results;
}

describe('Scale-out (e2e): 2 API and 2 worker processes sharing one Redis prefix and one storage root', () => {
  const prefix = testRedisPrefix();
  const processes: ServiceProcess[] = [];
  let root: string;
  let redis: Redis;
  let queue: Queue;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'stowage-scale-'));
    redis = new Redis(TEST_REDIS_URL);
    queue = new Queue('uploads', { connection: { url: TEST_REDIS_URL }, prefix });
  });

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await queue.close();
    await redis.quit();
    await deleteKeysUnder(prefix);
    await rm(root, { recursive: true, force: true });
  });

  it('stores all 200 with the right SHA-256 though a worker is SIGKILLed holding jobs, serves each from either API, and empties the queue', async () => {
    const env = {
      ...bullmqEnv(prefix),
      UPLOAD_DIR: root,
      DURABILITY: 'none',
      LOG_LEVEL: 'warn',
      STORAGE_CONCURRENCY: '4',
      RETRY_BASE_DELAY_MS: '20',
      // A dead worker's jobs are taken over within about 2.5 s instead of the default minute.
      QUEUE_LOCK_DURATION_MS: '2000',
      QUEUE_STALLED_INTERVAL_MS: '500',
    };
    const ports = [await freePort(), await freePort()];
    const apis = ports.map((port) => spawnService('main.js', { ...env, ROLE: 'api', PORT: String(port) }));
    processes.push(...apis);
    const urls = ports.map((port) => `http://127.0.0.1:${port}`);
    for (const [i, api] of apis.entries()) {
      const health = await waitHealthy(api, urls[i]);
      expect(health).toMatchObject({ status: 'ok', details: { redis: { status: 'up' } } });
    }

    // Every upload is accepted before any worker runs: the queue holds the work, and worker A is
    // sure to hold running jobs when it is killed.
    const files = Array.from({ length: UPLOADS }, (_, i) => randomFile(16 * 1024 + ((i * 7919) % 240) * 1024));
    const accepted = await mapLimit(files, 16, async (bytes, i) => {
      const form = new FormData();
      form.append('file', new Blob([bytes]), `f${i}.bin`);
      const res = await fetch(`${urls[i % 2]}/uploads`, { method: 'POST', body: form });
      expect(res.status).toBe(202);
      return ((await res.json()) as { id: string }).id;
    });
    expect(new Set(accepted).size).toBe(UPLOADS);
    // Each job is queued just after its 202, so the last ones may still be on their way.
    await until('every job queued', async () => ((await queue.getWaitingCount()) === UPLOADS ? true : undefined), 10_000);
    expect(await queue.getJobCounts('waiting', 'active')).toEqual({ waiting: UPLOADS, active: 0 });

    const workerA = spawnService('worker.js', env);
    processes.push(workerA);
    const nameA = `${hostname()}:${workerA.pid}`;
    const stored = () => redis.zcard(`${prefix}:records:s:stored`);

    // Storing is quick (a rename), so "A holds jobs" is caught by freezing A (SIGSTOP) and then
    // looking: frozen, it cannot finish what it holds before the SIGKILL. Holding none, it goes on.
    const orphaned = await until('worker A frozen while holding jobs', async () => {
      if ((await queue.getActiveCount()) === 0) return undefined;
      workerA.proc.kill('SIGSTOP');
      const held = (await queue.getActive()).filter((job) => job.processedBy === nameA).map((job) => job.id);
      if (held.length > 0) return held;
      workerA.proc.kill('SIGCONT');
      return undefined;
    });
    workerA.proc.kill('SIGKILL');
    expect(await workerA.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(orphaned.length).toBeGreaterThan(0);
    expect(await stored()).toBeLessThan(UPLOADS);

    const workerB = spawnService('worker.js', env);
    processes.push(workerB);
    await until('every upload stored', async () => ((await stored()) === UPLOADS ? true : undefined), 40_000);
    expect(await redis.zcard(`${prefix}:records:s:failed`)).toBe(0);
    // A may have stored its last uploads just before it died, their jobs still active: they are done
    // only once B has found them stalled (lock expiry plus a stalled check) and finished them.
    await until(
      'the queue to empty',
      async () => {
        const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed');
        return Object.values(counts).every((n) => n === 0) ? counts : undefined;
      },
      10_000,
    );
    // Worker B took over what A was holding.
    const takenOver = workerB.events('upload.job_stalled').map((e) => e.uploadId);
    expect(takenOver).toEqual(expect.arrayContaining(orphaned));

    await mapLimit(accepted, 16, async (id, i) => {
      for (const url of urls) {
        const record = (await (await fetch(`${url}/uploads/${id}`)).json()) as { status: string; sha256: string; size: number };
        expect(record).toMatchObject({ status: 'stored', sha256: sha256(files[i]), size: files[i].length });
        const content = await fetch(`${url}/uploads/${id}/content`);
        expect(content.status).toBe(200);
        expect(sha256(Buffer.from(await content.arrayBuffer()))).toBe(sha256(files[i]));
      }
    });

    expect(workerB.events('upload.staging_unreachable')).toEqual([]);
  }, 60_000);
});
