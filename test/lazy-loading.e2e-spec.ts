import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { transportEnv, type TestTransport } from './support/redis.js';
import { createTestBucket, s3Env } from './support/s3.js';
import { freePort, spawnService, waitHealthy } from './support/service-process.js';

const QUEUE_PACKAGES = ['@nestjs/bullmq', 'bullmq', 'ioredis'];
const isAwsSdk = (p: string) => p.startsWith('@aws-sdk/') || p.startsWith('@smithy/');
const probe = pathToFileURL(join(import.meta.dirname, 'support', 'loaded-packages.mjs')).href;

/** Starts the compiled service on `transport`, takes one upload, stops it; the npm packages it loaded. */
async function packagesLoaded(transport: TestTransport, extraEnv: Record<string, string> = {}): Promise<string[]> {
  const root = await mkdtemp(join(tmpdir(), 'stowage-lazy-'));
  const { env, cleanup } = transportEnv(transport);
  Object.assign(env, extraEnv);
  const port = await freePort();
  const service = spawnService('main.js', {
    ...env,
    UPLOAD_DIR: root,
    PORT: String(port),
    LOG_LEVEL: 'warn',
    NODE_OPTIONS: `--import ${probe}`,
  });
  try {
    const url = `http://127.0.0.1:${port}`;
    await waitHealthy(service, url);
    const form = new FormData();
    form.append('file', new Blob(['lazy']), 'lazy.txt');
    expect((await fetch(`${url}/uploads`, { method: 'POST', body: form })).status).toBe(202);
  } finally {
    await service.stop();
    await cleanup();
    await rm(root, { recursive: true, force: true });
  }
  const [line] = service.events('test.loaded_packages');
  return line.packages as string[];
}

describe('What the service loads (e2e, real process)', () => {
  it('with the memory transport and the disk backend, never loads BullMQ, ioredis, @nestjs/bullmq or the AWS SDK', async () => {
    const packages = await packagesLoaded('memory');
    expect(packages).toContain('@nestjs/core'); // the probe sees the app's packages
    expect(packages.filter((p) => QUEUE_PACKAGES.includes(p) || isAwsSdk(p))).toEqual([]);
  });

  it('with the s3 backend, loads the AWS SDK (and still not the queue packages)', async () => {
    const bucket = await createTestBucket();
    try {
      const packages = await packagesLoaded('memory', s3Env(bucket.name));
      expect(packages).toEqual(expect.arrayContaining(['@aws-sdk/client-s3']));
      expect(packages.filter((p) => QUEUE_PACKAGES.includes(p))).toEqual([]);
    } finally {
      await bucket.remove();
    }
  });

  it('with the bullmq transport, loads them', async () => {
    const packages = await packagesLoaded('bullmq');
    expect(packages).toEqual(expect.arrayContaining(QUEUE_PACKAGES));
  });
});
