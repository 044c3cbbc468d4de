import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { StorageError } from '../domain/errors/storage.error.js';
import { codeOf } from './s3-errors.js';
import { S3Storage } from './s3.storage.js';

const MiB = 1024 ** 2;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** An S3 error as the SDK throws it: a name and the HTTP status in `$metadata`. */
const s3Error = (name: string, status?: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

/**
 * Just enough of S3 for the backend's own logic: objects, multipart uploads, and a count of the
 * part bodies being sent at once (parts can be held to make them pile up).
 */
class FakeS3 {
  readonly objects = new Map<string, { body: Buffer; metadata?: Record<string, string> }>();
  readonly uploads = new Map<string, { key: string; parts: Map<number, Buffer> }>();
  readonly sent: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  private nextId = 0;
  private gate?: Promise<void>;
  private open?: () => void;

  holdParts(): () => void {
    this.gate = new Promise((resolve) => (this.open = resolve));
    return () => {
      this.gate = undefined;
      this.open?.();
    };
  }

  readonly client = {
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      const name = command.constructor.name.replace(/Command$/, '');
      const input = command.input;
      const key = input.Key as string;
      this.sent.push(name);
      switch (name) {
        case 'HeadObject': {
          const object = this.objects.get(key);
          if (!object) throw s3Error('NotFound', 404);
          return { ContentLength: object.body.length, Metadata: object.metadata };
        }
        case 'ListMultipartUploads':
          return { Uploads: [...this.uploads].map(([UploadId, u]) => ({ Key: u.key, UploadId })) };
        case 'PutObject':
          if (input.IfNoneMatch === '*' && this.objects.has(key)) throw s3Error('PreconditionFailed', 412);
          this.objects.set(key, { body: Buffer.from(input.Body as Buffer), metadata: input.Metadata as Record<string, string> });
          return {};
        case 'CreateMultipartUpload': {
          const UploadId = `u${this.nextId++}`;
          this.uploads.set(UploadId, { key, parts: new Map() });
          return { UploadId };
        }
        case 'UploadPart': {
          this.inFlight += 1;
          this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
          try {
            await new Promise((resolve) => setImmediate(resolve));
            if (this.gate) await this.gate;
            this.uploads.get(input.UploadId as string)!.parts.set(input.PartNumber as number, Buffer.from(input.Body as Buffer));
            return { ETag: `"${String(input.PartNumber)}"` };
          } finally {
            this.inFlight -= 1;
          }
        }
        case 'CompleteMultipartUpload': {
          const upload = this.uploads.get(input.UploadId as string)!;
          this.uploads.delete(input.UploadId as string);
          const parts = [...upload.parts].sort(([a], [b]) => a - b).map(([, body]) => body);
          this.objects.set(key, { body: Buffer.concat(parts), metadata: { sha256: 'from-create' } });
          return {};
        }
        case 'AbortMultipartUpload':
          this.uploads.delete(input.UploadId as string);
          return {};
        case 'DeleteObject':
          this.objects.delete(key);
          return {};
        default:
          throw new Error(`FakeS3 does not do ${name}`);
      }
    },
  };
}

function storage(s3: FakeS3, { partSize = 5 * MiB, partsInFlight = 2 } = {}): S3Storage {
  return new S3Storage({ client: s3.client as unknown as S3Client, bucket: 'b', partSize, partsInFlight, ownsClient: false });
}

/** A stream of `bytes` in 64 KiB chunks, as a file read stream gives them. */
const streamOf = (bytes: Buffer) =>
  Readable.from(
    (function* () {
      for (let i = 0; i < bytes.length; i += 64 * 1024) yield bytes.subarray(i, i + 64 * 1024);
    })(),
  );

describe('S3Storage', () => {
  it('holds at most partsInFlight parts at once, across every upload it stores', async () => {
    const s3 = new FakeS3();
    const sut = storage(s3, { partsInFlight: 3 });
    const files = [Buffer.alloc(23 * MiB, 1), Buffer.alloc(17 * MiB, 2), Buffer.alloc(12 * MiB, 3)];
    const release = s3.holdParts();
    const puts = files.map((f, i) => sut.put(`k${i}`, streamOf(f), { size: f.length, sha256: sha(f) }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(s3.inFlight).toBe(3); // the rest wait for a free part buffer
    release();
    await Promise.all(puts);
    expect(s3.maxInFlight).toBe(3);
    for (const [i, f] of files.entries()) expect(s3.objects.get(`k${i}`)?.body.equals(f)).toBe(true);
    expect(s3.uploads.size).toBe(0);
  });

  it('aborts the multipart upload and commits nothing when the staged bytes do not match', async () => {
    const s3 = new FakeS3();
    const sut = storage(s3);
    const bytes = Buffer.alloc(12 * MiB, 7);
    const put = sut.put('k', streamOf(bytes), { size: bytes.length, sha256: sha(Buffer.alloc(12 * MiB, 8)) });
    await expect(put).rejects.toMatchObject({ code: 'CONTENT_MISMATCH', transient: false });
    expect(s3.sent).not.toContain('CompleteMultipartUpload');
    expect(s3.uploads.size).toBe(0);
    expect(s3.objects.size).toBe(0);
  });

  it('refuses bytes longer than received, on one PUT too', async () => {
    const s3 = new FakeS3();
    const bytes = Buffer.alloc(1000, 1);
    await expect(storage(s3).put('k', streamOf(bytes), { size: 999, sha256: sha(bytes.subarray(0, 999)) })).rejects.toMatchObject({
      code: 'CONTENT_MISMATCH',
    });
    expect(s3.objects.size).toBe(0);
  });

  it('verifies an object an earlier run committed instead of writing it again', async () => {
    const s3 = new FakeS3();
    const bytes = Buffer.from('already there');
    s3.objects.set('k', { body: bytes, metadata: { sha256: sha(bytes) } });
    await storage(s3).put('k', streamOf(bytes), { size: bytes.length, sha256: sha(bytes) });
    expect(s3.sent).toEqual(['HeadObject']);
  });

  it('removes an object holding other bytes at its key, and says so', async () => {
    const s3 = new FakeS3();
    s3.objects.set('k', { body: Buffer.from('stale'), metadata: { sha256: 'other' } });
    const bytes = Buffer.from('fresh');
    await expect(storage(s3).put('k', streamOf(bytes), { size: bytes.length, sha256: sha(bytes) })).rejects.toMatchObject({
      code: 'CONTENT_MISMATCH',
    });
    expect(s3.objects.has('k')).toBe(false);
  });

  it('aborts multipart uploads an interrupted run of the same upload left, before storing', async () => {
    const s3 = new FakeS3();
    s3.uploads.set('old', { key: 'k', parts: new Map([[1, Buffer.alloc(5 * MiB)]]) });
    s3.uploads.set('other', { key: 'k2', parts: new Map() });
    const bytes = Buffer.alloc(6 * MiB, 4);
    await storage(s3).put('k', streamOf(bytes), { size: bytes.length, sha256: sha(bytes) });
    expect([...s3.uploads.keys()]).toEqual(['other']);
    expect(s3.objects.get('k')?.body.equals(bytes)).toBe(true);
  });

  it('reads a staged file straight from disk, and reports a missing one as NOT_FOUND', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stowage-s3-spec-'));
    try {
      const s3 = new FakeS3();
      const bytes = Buffer.alloc(11 * MiB, 9);
      await writeFile(join(dir, 'staged'), bytes);
      await storage(s3).put('k', createReadStream(join(dir, 'staged')), { size: bytes.length, sha256: sha(bytes) });
      expect(s3.objects.get('k')?.body.equals(bytes)).toBe(true);
      await expect(
        storage(s3).put('gone', createReadStream(join(dir, 'missing')), { size: 3, sha256: sha(Buffer.from('abc')) }),
      ).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects a key Stowage would never make', async () => {
    await expect(storage(new FakeS3()).stat('../etc/passwd')).rejects.toMatchObject({ code: 'INVALID_KEY' });
  });
});

describe('codeOf (S3 errors as storage codes)', () => {
  it.each<[string, unknown, string, boolean]>([
    ['500 InternalError', s3Error('InternalError', 500), 'UNAVAILABLE', true],
    ['503 ServiceUnavailable', s3Error('ServiceUnavailable', 503), 'UNAVAILABLE', true],
    ['503 SlowDown', s3Error('SlowDown', 503), 'BUSY', true],
    ['429', s3Error('TooManyRequests', 429), 'BUSY', true],
    ['a socket timeout', Object.assign(new Error('timed out'), { name: 'TimeoutError' }), 'TIMEOUT', true],
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'UNAVAILABLE', true],
    ['a reset connection', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'UNAVAILABLE', true],
    ['a wrapped foreign error', new Error('AWS SDK error wrapper for Error: connect ECONNREFUSED 127.0.0.1:9'), 'UNAVAILABLE', true],
    ['an aborted multipart upload', s3Error('NoSuchUpload', 404), 'UNAVAILABLE', true],
    ['403 AccessDenied', s3Error('AccessDenied', 403), 'PERMISSION_DENIED', false],
    ['403 on a HEAD', s3Error('Forbidden', 403), 'PERMISSION_DENIED', false],
    ['NoSuchBucket', s3Error('NoSuchBucket', 404), 'BUCKET_NOT_FOUND', false],
    ['NoSuchKey', s3Error('NoSuchKey', 404), 'NOT_FOUND', false],
    ['400 InvalidRequest', s3Error('InvalidRequest', 400), 'STORAGE_ERROR', false],
  ])('%s', (_name, err, code, transient) => {
    expect(codeOf(err)).toBe(code);
    expect(new StorageError(codeOf(err), 'm').transient).toBe(transient);
  });
});
