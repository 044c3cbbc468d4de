import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { randomFile, sha256 } from './support/multipart.js';
import { bullmqEnv, deleteKeysUnder, TEST_REDIS_URL, testRedisPrefix } from './support/redis.js';
import { createTestBucket, s3Env, testS3Endpoint, type TestBucket } from './support/s3.js';
import { isWrite, S3FaultProxy } from './support/s3-fault-proxy.js';
import { freePort, type ServiceProcess, spawnService, waitHealthy } from './support/service-process.js';
import { until } from './support/until.js';

const KiB = 1024;
const MiB = 1024 ** 2;

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i], i);
      }
    }),
  );
  return results;
}

async function upload(url: string, bytes: Buffer, name: string): Promise<string> {
  const form = new FormData();
  form.append('file', new Blob([bytes]), name);
  const res = await fetch(`${url}/uploads`, { method: 'POST', body: form });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

/** One node: its own disk (UPLOAD_DIR), the shared Redis prefix and bucket, reached through `s3Endpoint`. */
interface Node {
  name: string;
  root: string;
  port: number;
  url: string;
  s3Endpoint: string;
  service?: ServiceProcess;
}

describe('Nodes that share no disk (e2e): two processes, separate UPLOAD_DIRs, one Redis, one S3', () => {
  const prefix = testRedisPrefix();
  let bucket: TestBucket;
  let proxy: S3FaultProxy;
  let redis: Redis;
  const nodes: Node[] = [];

  beforeAll(async () => {
    bucket = await createTestBucket();
    // Node A reaches S3 through a proxy, so the test can hold its writes and kill it mid-store.
    proxy = await S3FaultProxy.start(testS3Endpoint());
    redis = new Redis(TEST_REDIS_URL);
    for (const [name, s3Endpoint] of [
      ['A', proxy.url],
      ['B', testS3Endpoint()],
    ]) {
      const port = await freePort();
      nodes.push({ name, root: await mkdtemp(join(tmpdir(), `stowage-node${name}-`)), port, url: `http://127.0.0.1:${port}`, s3Endpoint });
    }
  });

  afterAll(async () => {
    await Promise.all(nodes.map(async (n) => n.service?.stop()));
    await proxy.close();
    await redis.quit();
    await deleteKeysUnder(prefix);
    await bucket.remove();
    for (const n of nodes) await rm(n.root, { recursive: true, force: true });
  });

  async function start(node: Node): Promise<ServiceProcess> {
    node.service = spawnService('main.js', {
      ...bullmqEnv(prefix),
      ...s3Env(bucket.name, node.s3Endpoint),
      STAGING: 'local',
      ROLE: 'all',
      UPLOAD_DIR: node.root,
      PORT: String(node.port),
      DURABILITY: 'none',
      LOG_LEVEL: 'warn',
      STORAGE_CONCURRENCY: '8',
      S3_PART_SIZE: '5MiB',
      RETRY_BASE_DELAY_MS: '20',
      // A dead node's running jobs are taken up again within about 2.5 s of its restart.
      QUEUE_LOCK_DURATION_MS: '2000',
      QUEUE_STALLED_INTERVAL_MS: '500',
      STATUS_POLL_INTERVAL_MS: '200',
    });
    await waitHealthy(node.service, node.url);
    return node.service;
  }

  it('stores all 200 uploads, readable from both nodes, though one node is SIGKILLed with uploads staged and restarted with its disk', async () => {
    const [a, b] = nodes;
    await start(a);
    await start(b);
    const nodeIdOf = async (n: Node) => (await readFile(join(n.root, 'node-id'), 'utf8')).trim();
    expect(await nodeIdOf(a)).not.toBe(await nodeIdOf(b));

    const files = Array.from({ length: 200 }, (_, i) => randomFile(i % 25 === 0 ? 6 * MiB : 16 * KiB + ((i * 7919) % 240) * KiB));
    const ids = new Array<string>(200);
    const send = (from: number, to: number, node: (i: number) => Node) =>
      mapLimit(
        files.slice(from, to).map((_, k) => from + k),
        8,
        async (i) => (ids[i] = await upload(node(i).url, files[i], `f${i}.bin`)),
      );

    // 1. Uploads 0-99 spread over both; node A's writes to S3 are held, so its uploads stay staged.
    const release = proxy.hold(isWrite);
    await send(0, 100, (i) => nodes[i % 2]);
    const stagedOnA = ids.filter((_, i) => i < 100 && i % 2 === 0);
    await until('node A to be storing', async () => (proxy.count(isWrite) > 0 ? true : undefined));
    expect((await readdir(join(a.root, 'staging'))).sort()).toEqual([...stagedOnA].sort());

    // 2. A dies holding them; B goes on alone with uploads 100-149.
    a.service!.proc.kill('SIGKILL');
    expect(await a.service!.exited).toEqual({ code: null, signal: 'SIGKILL' });
    release();
    await send(100, 150, () => b);

    // 3. A comes back with its disk and stores what it had staged; uploads 150-199 go to both again.
    await start(a);
    await send(150, 200, (i) => nodes[i % 2]);

    await until('every upload stored', async () => ((await redis.zcard(`${prefix}:records:s:stored`)) === 200 ? true : undefined), 60_000);
    expect(await redis.zcard(`${prefix}:records:s:failed`)).toBe(0);
    expect((await bucket.keys()).sort()).toEqual([...ids].sort());
    expect(await bucket.multipartUploads()).toEqual([]);
    for (const n of nodes) expect(await readdir(join(n.root, 'staging'))).toEqual([]);

    await mapLimit(ids, 8, async (id, i) => {
      for (const n of nodes) {
        const record = (await (await fetch(`${n.url}/uploads/${id}`)).json()) as Record<string, unknown>;
        expect(record).toMatchObject({ status: 'stored', sha256: sha256(files[i]), size: files[i].length });
        const content = await fetch(`${n.url}/uploads/${id}/content`);
        expect(content.status).toBe(200);
        expect(sha256(Buffer.from(await content.arrayBuffer()))).toBe(sha256(files[i]));
      }
    });
    for (const n of nodes) expect(n.service!.events('upload.staging_unreachable')).toEqual([]);
  }, 120_000);
});
