import request from 'supertest';
import { randomFile, sha256 } from './support/multipart.js';
import { createTestBucket, s3Env, testS3Endpoint, type TestBucket } from './support/s3.js';
import { isHeadBucket, isPartUpload, isWrite, type S3Fault, S3FaultProxy } from './support/s3-fault-proxy.js';
import { createTestApp, type TestApp } from './support/test-app.js';
import { until } from './support/until.js';

const KiB = 1024;
const MiB = 1024 ** 2;

/** Parts of 5 MiB, requests abandoned after 1 s of silence, and room for many attempts with short waits. */
const FAULT_SETTINGS = {
  S3_PART_SIZE: '5MiB',
  S3_REQUEST_TIMEOUT_MS: '1000',
  RETRY_ATTEMPTS: 12,
  RETRY_BASE_DELAY_MS: 50,
  RETRY_MAX_DELAY_MS: 500,
};

async function upload(app: TestApp, bytes: Buffer, name: string): Promise<string> {
  return (await request(app.server).post('/uploads').attach('file', bytes, name).expect(202)).body.id as string;
}

describe('S3 faults (e2e, moto behind a fault-injecting proxy)', () => {
  let bucket: TestBucket;
  let proxy: S3FaultProxy;
  let app: TestApp;

  beforeAll(async () => {
    bucket = await createTestBucket();
    proxy = await S3FaultProxy.start(testS3Endpoint());
    app = await createTestApp({ ...s3Env(bucket.name, proxy.url), ...FAULT_SETTINGS });
  });
  afterAll(async () => {
    await app?.close();
    await proxy?.close();
    await bucket?.remove();
  });

  /** Each upload is stored, as one object holding its bytes, and no multipart upload is left. */
  async function expectStoredOnce(ids: string[], files: Buffer[]): Promise<void> {
    for (const id of ids) expect(await app.uploads.waitUntilSettled(id, { timeoutMs: 60_000 })).toMatchObject({ status: 'stored' });
    const keys = await bucket.keys();
    for (const [i, id] of ids.entries()) {
      expect(keys.filter((k) => k === id)).toEqual([id]);
      expect(sha256(await bucket.read(id))).toBe(sha256(files[i]));
    }
    expect(await bucket.multipartUploads()).toEqual([]);
  }

  it.each<[string, S3Fault]>([
    ['500 InternalError', 'internal-error'],
    ['503 ServiceUnavailable', 'unavailable'],
    ['503 SlowDown', 'slow-down'],
    ['parts that never get an answer', 'timeout'],
    ['connections dropped in the middle of a part', 'drop'],
  ])(
    'stores a multipart upload through %s',
    async (_, fault) => {
      // Four failures in a row: more than the SDK's own three attempts, so a part fails once for good
      // and the whole store is retried with the module's backoff as well.
      proxy.fail(fault, { times: 4, when: isPartUpload });
      const parts = proxy.count(isPartUpload);
      const bytes = randomFile(12 * MiB);
      const id = await upload(app, bytes, `${fault}.bin`);
      await expectStoredOnce([id], [bytes]);
      expect(proxy.count(isPartUpload) - parts).toBeGreaterThanOrEqual(3 + 4);
    },
    90_000,
  );

  it('stores a small object through a 503 on its one PUT', async () => {
    proxy.fail('unavailable', { times: 2, when: isWrite });
    const bytes = randomFile(KiB);
    await expectStoredOnce([await upload(app, bytes, 'small.bin')], [bytes]);
  });

  it('keeps uploads accepted while S3 is down, and stores them all once it is back', async () => {
    await proxy.down();
    const files = [randomFile(KiB), randomFile(100 * KiB), randomFile(6 * MiB), randomFile(11 * MiB)];
    const ids: string[] = [];
    try {
      for (const [i, bytes] of files.entries()) ids.push(await upload(app, bytes, `while-down-${i}.bin`));
      // S3 stays down until every upload has failed a second attempt: they wait and retry.
      await until('every upload to be retried', async () => {
        const records = await Promise.all(ids.map((id) => app.uploads.get(id)));
        return records.every((r) => r.status !== 'stored' && r.attempts >= 2) ? records : undefined;
      });
    } finally {
      await proxy.up();
    }
    await expectStoredOnce(ids, files);
    const left = await request(app.server).get('/uploads?status=received').expect(200);
    expect(left.body.items).toEqual([]);
  }, 90_000);

  it('fails an upload the bucket refuses (403) at once, with the error on its record, and keeps its bytes for a retry', async () => {
    proxy.fail('access-denied', { times: 1, when: isWrite });
    const bytes = randomFile(2 * KiB);
    const id = await upload(app, bytes, 'refused.bin');
    await expect(app.uploads.waitUntilSettled(id)).rejects.toMatchObject({
      record: { status: 'failed', attempts: 1, error: { code: 'PERMISSION_DENIED', message: expect.stringContaining('AccessDenied') } },
    });
    expect(await bucket.head(id)).toBeUndefined();
    await request(app.server).post(`/uploads/${id}/retry`).expect(202);
    await expectStoredOnce([id], [bytes]);
  });
});

describe('S3 that cannot be used (e2e)', () => {
  it('fails uploads with BUCKET_NOT_FOUND when the bucket is removed, and says so in /health', async () => {
    const bucket = await createTestBucket();
    const app = await createTestApp({ ...s3Env(bucket.name), RETRY_BASE_DELAY_MS: 5 });
    try {
      await bucket.remove();
      const id = await upload(app, randomFile(KiB), 'nowhere.bin');
      await expect(app.uploads.waitUntilSettled(id)).rejects.toMatchObject({
        record: { status: 'failed', attempts: 1, error: { code: 'BUCKET_NOT_FOUND' } },
      });
      const health = await request(app.server).get('/health').expect(503);
      expect(health.body.details.s3).toMatchObject({ status: 'down', message: expect.stringMatching(/does not exist/) });
    } finally {
      await app.close();
    }
  });

  it('refuses to start when the credentials are refused, naming bucket and endpoint but no secret', async () => {
    const bucket = await createTestBucket();
    const proxy = await S3FaultProxy.start(testS3Endpoint());
    try {
      proxy.fail('access-denied', { when: isHeadBucket });
      const started = await createTestApp(s3Env(bucket.name, proxy.url)).catch((err: Error) => err);
      expect(started).toBeInstanceOf(Error);
      const message = (started as Error).message;
      expect(message).toMatch(new RegExp(`S3 bucket "${bucket.name}" at ${proxy.url} refused the credentials \\(403\\)`));
      expect(message).not.toContain(process.env.AWS_SECRET_ACCESS_KEY);
    } finally {
      await proxy.close();
      await bucket.remove();
    }
  });
});
