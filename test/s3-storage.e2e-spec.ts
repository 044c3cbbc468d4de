import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  HeadBucketCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { Test } from '@nestjs/testing';
import { createTempStorageRoot } from '../src/testing/temp-storage-root.js';
import { UploadsModule } from '../src/uploads/module/uploads.module.js';
import { UploadsService } from '../src/uploads/uploads.service.js';
import request from 'supertest';
import { UploadReconciler } from '../src/uploads/lifecycle/upload-reconciler.service.js';
import { randomFile, sha256 } from './support/multipart.js';
import { createTestBucket, s3Env, testS3Endpoint, type TestBucket } from './support/s3.js';
import { createTestApp, type TestApp } from './support/test-app.js';

const KiB = 1024;
const MiB = 1024 ** 2;
const PREFIX = 'tenant-a/files';

async function upload(app: TestApp, bytes: Buffer, name: string): Promise<string> {
  const res = await request(app.server).post('/uploads').attach('file', bytes, name).expect(202);
  return res.body.id as string;
}

describe('S3 storage backend (e2e, the real app against moto)', () => {
  let bucket: TestBucket;
  let app: TestApp;

  beforeAll(async () => {
    bucket = await createTestBucket();
    app = await createTestApp({ ...s3Env(bucket.name), S3_PREFIX: PREFIX });
  });
  afterAll(async () => {
    await app?.close();
    await bucket?.remove();
  });

  it('stores 0 B, 1 KiB, 7 MiB and 40 MiB uploads as one object each, byte for byte, with no multipart upload left', async () => {
    const files = [Buffer.alloc(0), randomFile(KiB), randomFile(7 * MiB), randomFile(40 * MiB)];
    const before = new Set(await bucket.keys());
    const ids: string[] = [];
    for (const [i, bytes] of files.entries()) ids.push(await upload(app, bytes, `f${i}.bin`));
    for (const id of ids) expect(await app.uploads.waitUntilSettled(id, { timeoutMs: 60_000 })).toMatchObject({ status: 'stored' });

    const added = (await bucket.keys()).filter((k) => !before.has(k)).sort();
    expect(added).toEqual(ids.map((id) => `${PREFIX}/${id}`).sort());
    for (const [i, id] of ids.entries()) {
      const key = `${PREFIX}/${id}`;
      expect(sha256(await bucket.read(key))).toBe(sha256(files[i]));
      expect(await bucket.head(key)).toMatchObject({
        ContentLength: files[i].length,
        ContentType: 'application/octet-stream',
        Metadata: { sha256: sha256(files[i]) },
      });
    }
    expect(await bucket.multipartUploads()).toEqual([]);
    expect(await app.staged()).toEqual([]);
  }, 120_000);

  it('serves downloads from the bucket with Range and If-None-Match as on disk', async () => {
    const bytes = randomFile(300 * KiB);
    const id = await upload(app, bytes, 'report.pdf');
    await app.uploads.waitUntilSettled(id);

    const whole = await request(app.server).get(`/uploads/${id}/content`).buffer(true).expect(200);
    expect(whole.headers.etag).toBe(`"${sha256(bytes)}"`);
    expect(whole.headers['content-length']).toBe(String(bytes.length));
    expect(sha256(whole.body as Buffer)).toBe(sha256(bytes));

    const part = await request(app.server).get(`/uploads/${id}/content`).set('Range', 'bytes=1000-1999').buffer(true).expect(206);
    expect(part.headers['content-range']).toBe(`bytes 1000-1999/${bytes.length}`);
    expect(Buffer.compare(part.body as Buffer, bytes.subarray(1000, 2000))).toBe(0);

    await request(app.server)
      .get(`/uploads/${id}/content`)
      .set('If-None-Match', `"${sha256(bytes)}"`)
      .expect(304);
    await request(app.server).get(`/uploads/${id}/content`).set('Range', `bytes=${bytes.length}-`).expect(416);
  });

  it('deletes the object with the upload', async () => {
    const id = await upload(app, randomFile(2 * KiB), 'gone.bin');
    await app.uploads.waitUntilSettled(id);
    expect(await bucket.head(`${PREFIX}/${id}`)).toBeDefined();
    await request(app.server).delete(`/uploads/${id}`).expect(204);
    expect(await bucket.head(`${PREFIX}/${id}`)).toBeUndefined();
    await request(app.server).get(`/uploads/${id}/content`).expect(404);
  });

  it('stores 30 concurrent uploads, each once', async () => {
    const files = Array.from({ length: 30 }, (_, i) => randomFile(64 * KiB + i * 97 * KiB));
    const ids = await Promise.all(files.map((bytes, i) => upload(app, bytes, `c${i}.bin`)));
    const records = await Promise.all(ids.map((id) => app.uploads.waitUntilSettled(id, { timeoutMs: 60_000 })));
    expect(records.map((r) => r.status)).toEqual(files.map(() => 'stored'));
    const keys = new Set(await bucket.keys());
    for (const [i, id] of ids.entries()) {
      expect(keys.has(`${PREFIX}/${id}`)).toBe(true);
      expect(sha256(await bucket.read(`${PREFIX}/${id}`))).toBe(sha256(files[i]));
    }
    expect(await bucket.multipartUploads()).toEqual([]);
  }, 90_000);

  it('reports the bucket in /health', async () => {
    const { body } = await request(app.server).get('/health').expect(200);
    expect(body.details.s3).toMatchObject({ status: 'up', latencyMs: expect.any(Number) });
  });

  it('reconciles the bucket: objects without a record go, other objects stay, vanished objects fail the upload', async () => {
    const orphan = `${PREFIX}/${randomUUID()}`;
    const foreign = `${PREFIX}/notes.txt`;
    for (const key of [orphan, foreign]) await bucket.client.send(new PutObjectCommand({ Bucket: bucket.name, Key: key, Body: 'x' }));
    const id = await upload(app, randomFile(KiB), 'vanishes.bin');
    await app.uploads.waitUntilSettled(id);
    await bucket.client.send(new DeleteObjectCommand({ Bucket: bucket.name, Key: `${PREFIX}/${id}` }));

    const findings = await app.app.get(UploadReconciler).sweep();

    expect(findings).toMatchObject({ orphanedContent: 1, missingContent: 1 });
    expect(await bucket.head(orphan)).toBeUndefined();
    expect(await bucket.head(foreign)).toBeDefined();
    expect((await request(app.server).get(`/uploads/${id}`).expect(200)).body).toMatchObject({
      status: 'failed',
      error: { code: 'CONTENT_MISSING' },
    });
  });
});

describe('S3 storage backend at start-up (e2e)', () => {
  let bucket: TestBucket;

  beforeAll(async () => {
    bucket = await createTestBucket();
  });
  afterAll(() => bucket.remove());

  it('aborts multipart uploads a crashed run left behind, and leaves foreign ones alone', async () => {
    const left = `${randomUUID()}`;
    const { UploadId } = await bucket.client.send(new CreateMultipartUploadCommand({ Bucket: bucket.name, Key: left }));
    await bucket.client.send(new UploadPartCommand({ Bucket: bucket.name, Key: left, UploadId, PartNumber: 1, Body: randomFile(5 * MiB) }));
    await bucket.client.send(new CreateMultipartUploadCommand({ Bucket: bucket.name, Key: 'backups/db.tar' }));

    const app = await createTestApp(s3Env(bucket.name));
    try {
      expect((await bucket.multipartUploads()).map((u) => u.key)).toEqual(['backups/db.tar']);
    } finally {
      await app.close();
    }
  });

  it('refuses to start without the bucket, naming it and the endpoint', async () => {
    const started = await createTestApp(s3Env('stowage-no-such-bucket')).catch((err: Error) => err);
    expect(started).toBeInstanceOf(Error);
    expect((started as Error).message).toMatch(
      /S3 bucket "stowage-no-such-bucket" at http:\/\/127\.0\.0\.1:\d+ does not exist; the s3 storage backend needs it to start/,
    );
  });

  it('redirects downloads to a presigned URL with S3_DOWNLOAD=redirect', async () => {
    const app = await createTestApp({ ...s3Env(bucket.name), S3_DOWNLOAD: 'redirect' });
    try {
      const bytes = randomFile(100 * KiB);
      const id = await upload(app, bytes, 'straight from the bucket.bin');
      await app.uploads.waitUntilSettled(id);
      const res = await request(app.server).get(`/uploads/${id}/content`).expect(302);
      expect(res.headers['cache-control']).toBe('no-store');
      const location = new URL(res.headers.location);
      expect(location.searchParams.get('X-Amz-Expires')).toBe('60');

      // The object store answers with the API's own headers (moto ignores them; AWS and MinIO do not).
      expect(location.searchParams.get('response-content-disposition')).toMatch(/^attachment; filename="straight from the bucket\.bin"$/);
      expect(location.searchParams.get('response-content-type')).toBe('application/octet-stream');
      const direct = await fetch(location);
      expect(direct.status).toBe(200);
      expect(sha256(Buffer.from(await direct.arrayBuffer()))).toBe(sha256(bytes));
      const ranged = await fetch(location, { headers: { Range: 'bytes=0-9' } });
      expect(ranged.status).toBe(206);
      expect(Buffer.from(await ranged.arrayBuffer())).toEqual(bytes.subarray(0, 10));
      // Conditional requests are still answered by the API, without a round trip to the bucket.
      await request(app.server)
        .get(`/uploads/${id}/content`)
        .set('If-None-Match', `"${sha256(bytes)}"`)
        .expect(304);
    } finally {
      await app.close();
    }
  });
});

describe('S3 storage backend embedded with the host’s own S3Client (e2e)', () => {
  it('stores through the given client, and leaves it open when the app closes', async () => {
    const bucket = await createTestBucket();
    const root = await createTempStorageRoot('stowage-s3-host-');
    const client = new S3Client({ endpoint: testS3Endpoint(), region: 'us-east-1', forcePathStyle: true, maxAttempts: 2 });
    try {
      const moduleRef = await Test.createTestingModule({
        imports: [
          EventEmitterModule.forRoot(),
          UploadsModule.forRoot({
            storageRoot: root.path,
            durability: 'none',
            storageBackend: 's3',
            s3: { bucket: bucket.name, prefix: 'host', client },
          }),
        ],
      }).compile();
      const app = await moduleRef.createNestApplication().init();
      const uploads = app.get(UploadsService);
      const record = await uploads.upload(Readable.from([Buffer.from('from the host')]), { filename: 'host.txt', mimeType: 'text/plain' });
      expect(await uploads.waitUntilSettled(record.id)).toMatchObject({ status: 'stored' });
      expect((await bucket.read(`host/${record.id}`)).toString()).toBe('from the host');
      await app.close();
      await expect(client.send(new HeadBucketCommand({ Bucket: bucket.name }))).resolves.toBeDefined();
    } finally {
      client.destroy();
      await root.cleanup();
      await bucket.remove();
    }
  });
});
