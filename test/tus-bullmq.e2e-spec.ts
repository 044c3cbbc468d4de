import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomFile, sha256, baseUrl } from './support/multipart.js';
import { bullmqEnv, deleteKeysUnder, keysUnder, testRedisPrefix } from './support/redis.js';
import { createTestApp, type TestApp } from './support/test-app.js';
import { heldPatch, OFFSET_STREAM, TUS, tusRequest } from './support/tus.js';
import { until } from './support/until.js';

describe('tus with BullMQ and two API processes (e2e, real Redis)', () => {
  let root: string;
  let prefix: string;
  const apps: TestApp[] = [];

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'stowage-tus-bullmq-'));
    prefix = testRedisPrefix();
    // Two processes on one shared root and one Redis: API only, then one that also stores.
    apps.push(await createTestApp({ ...bullmqEnv(prefix), ROLE: 'api' }, undefined, root));
    apps.push(await createTestApp({ ...bullmqEnv(prefix), ROLE: 'all' }, undefined, root));
  });
  afterAll(async () => {
    for (const app of apps) await app.close({ keepRoot: true });
    await rm(root, { recursive: true, force: true });
    await deleteKeysUnder(prefix);
  });

  it('takes the chunks of one upload at either process, refuses a second writer through the other one (423), and stores it once', async () => {
    const [a, b] = await Promise.all(apps.map((t) => baseUrl(t.server)));
    const file = randomFile(900_000);
    const created = await tusRequest(a, 'POST', '/uploads/tus', { ...TUS, 'Upload-Length': file.length });
    const id = String(created.headers.location).split('/').pop()!;

    expect(
      (await tusRequest(a, 'PATCH', `/uploads/tus/${id}`, { ...OFFSET_STREAM, 'Upload-Offset': 0 }, file.subarray(0, 300_000))).status,
    ).toBe(204);
    // A PATCH held open at B holds the lock in Redis: A refuses a second writer.
    const held = heldPatch(
      b,
      `/uploads/tus/${id}`,
      { ...OFFSET_STREAM, 'Upload-Offset': 300_000, 'Content-Length': 300_000 },
      file.subarray(300_000, 500_000),
    );
    await until('the held chunk to reach the disk', async () =>
      (await stat(join(root, 'staging', id))).size > 300_000 ? true : undefined,
    );
    expect((await keysUnder(prefix)).some((key) => key.endsWith(`upload-lock:${id}`))).toBe(true);
    const refused = await tusRequest(
      a,
      'PATCH',
      `/uploads/tus/${id}`,
      { ...OFFSET_STREAM, 'Upload-Offset': 300_000 },
      file.subarray(300_000, 600_000),
    );
    expect(refused.status).toBe(423);
    held.send(file.subarray(500_000, 600_000));
    expect((await held.reply).status).toBe(204);
    expect((await keysUnder(prefix)).some((key) => key.includes('upload-lock'))).toBe(false);

    // A never saw the middle chunk: its SHA-256 comes from the bytes on the shared disk.
    expect((await tusRequest(a, 'HEAD', `/uploads/tus/${id}`, TUS)).headers['upload-offset']).toBe('600000');
    expect(
      (await tusRequest(a, 'PATCH', `/uploads/tus/${id}`, { ...OFFSET_STREAM, 'Upload-Offset': 600_000 }, file.subarray(600_000))).status,
    ).toBe(204);
    const stored = await apps[0].uploads.waitUntilSettled(id, { timeoutMs: 20_000 });
    expect(stored).toMatchObject({ status: 'stored', size: file.length, sha256: sha256(file) });
    expect((await apps[1].uploads.list()).items.map((r) => r.id)).toEqual([id]);
  });
});
