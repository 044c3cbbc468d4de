import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomFile, sha256 } from './support/multipart.js';
import { createTestBucket, s3Env, testS3Endpoint, type TestBucket } from './support/s3.js';
import { isPartUpload, isWrite, type SeenRequest, S3FaultProxy } from './support/s3-fault-proxy.js';
import { freePort, type ServiceProcess, spawnService, waitHealthy } from './support/service-process.js';
import { until } from './support/until.js';

const KiB = 1024;
const MiB = 1024 ** 2;

const partNumber = (r: SeenRequest) => Number(/[?&]partNumber=(\d+)/.exec(r.url)?.[1] ?? 0);

async function upload(url: string, bytes: Buffer, name: string): Promise<string> {
  const form = new FormData();
  form.append('file', new Blob([bytes]), name);
  const res = await fetch(`${url}/uploads`, { method: 'POST', body: form });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

async function settled(url: string, id: string): Promise<Record<string, unknown>> {
  return until(`upload ${id} to settle`, async () => {
    const record = (await (await fetch(`${url}/uploads/${id}`)).json()) as Record<string, unknown>;
    return record.status === 'stored' || record.status === 'failed' ? record : undefined;
  });
}

describe('S3 backend in a real process (e2e): crashes and JSON logs', () => {
  let bucket: TestBucket;
  let proxy: S3FaultProxy;
  let root: string;
  const services: ServiceProcess[] = [];

  beforeEach(async () => {
    bucket = await createTestBucket();
    proxy = await S3FaultProxy.start(testS3Endpoint());
    root = await mkdtemp(join(tmpdir(), 'stowage-s3-crash-'));
  });
  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.stop()));
    await proxy.close();
    await bucket.remove();
    await rm(root, { recursive: true, force: true });
  });

  async function start(env: Record<string, string> = {}): Promise<{ service: ServiceProcess; url: string }> {
    const port = await freePort();
    const service = spawnService('main.js', {
      ...s3Env(bucket.name, proxy.url),
      TASK_TRANSPORT: 'memory',
      ROLE: 'all',
      UPLOAD_DIR: root,
      PORT: String(port),
      DURABILITY: 'none',
      LOG_LEVEL: 'warn',
      S3_PART_SIZE: '5MiB',
      S3_PARTS_IN_FLIGHT: '4',
      RETRY_BASE_DELAY_MS: '20',
      ...env,
    });
    services.push(service);
    const url = `http://127.0.0.1:${port}`;
    await waitHealthy(service, url);
    return { service, url };
  }

  it('after a SIGKILL in the middle of multipart uploads, stores every acknowledged upload once, with no multipart upload left', async () => {
    // Parts 1 and 2 of each multipart upload go through; part 3 is held, so the process dies with
    // multipart uploads half done in the bucket.
    const release = proxy.hold((r) => isPartUpload(r) && partNumber(r) >= 3);
    const first = await start();
    const files = [randomFile(22 * MiB), randomFile(17 * MiB), randomFile(KiB)];
    const ids: string[] = [];
    for (const [i, bytes] of files.entries()) ids.push(await upload(first.url, bytes, `crash-${i}.bin`));
    // Both multipart uploads have a part past the second held (so their first parts are in the bucket).
    await until('part 3 of both multipart uploads to be on its way', async () =>
      ids.slice(0, 2).every((id) => proxy.count((r) => isPartUpload(r) && partNumber(r) >= 3 && r.url.includes(id))) ? true : undefined,
    );
    first.service.proc.kill('SIGKILL');
    expect(await first.service.exited).toEqual({ code: null, signal: 'SIGKILL' });
    release();
    const halfDone = await bucket.multipartUploads();
    expect(halfDone.map((u) => u.key).sort()).toEqual(ids.slice(0, 2).sort());

    const second = await start();
    for (const [i, id] of ids.entries()) {
      expect(await settled(second.url, id)).toMatchObject({ status: 'stored', sha256: sha256(files[i]) });
    }
    expect((await bucket.keys()).sort()).toEqual([...ids].sort());
    for (const [i, id] of ids.entries()) expect(sha256(await bucket.read(id))).toBe(sha256(files[i]));
    expect(await bucket.multipartUploads()).toEqual([]);
    expect(second.service.events('upload.store_failed')).toEqual([]);
  }, 90_000);

  it('fails an upload the bucket refuses with the error on its record and one JSON error line', async () => {
    const { service, url } = await start();
    proxy.fail('access-denied', { when: isWrite });
    const refused = await upload(url, randomFile(3 * KiB), 'refused.bin');
    expect(await settled(url, refused)).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: { code: 'PERMISSION_DENIED', message: expect.stringMatching(/AccessDenied.*\(HTTP 403\)/) },
    });
    // Only once the refusal has been used: sent at once, this upload's write could reach S3 first and take it.
    const fine = await upload(url, randomFile(3 * KiB), 'fine.bin');
    expect(await settled(url, fine)).toMatchObject({ status: 'stored' });
    const errors = service.lines
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => (l.level as number) >= 50);
    expect(errors).toEqual([
      expect.objectContaining({
        event: 'upload.store_failed',
        uploadId: refused,
        attempt: 1,
        final: true,
        errorCode: 'PERMISSION_DENIED',
        err: expect.objectContaining({ message: expect.stringContaining(`S3 bucket "${bucket.name}"`) }),
      }),
    ]);
    expect(service.stderr()).not.toContain(process.env.AWS_SECRET_ACCESS_KEY);
  });
});
