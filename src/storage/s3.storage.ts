import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { StorageError } from '../domain/errors/storage.error.js';
import type { ByteRange, DownloadLinkOptions, ExpectedContent, StorageBackend } from './storage-backend.interface.js';
import { loadOptional } from '../common/optional-package.js';
import { codeOf, describeError, reasonOf } from './s3-errors.js';
import { S3Multipart } from './s3-multipart.js';
import { PartBudget, type PartSource, readerOf, verify } from './s3-parts.js';

// The module's provider loads this file alone (the SDK is optional), so it also hands out the client factory.
export { createS3Client, type S3ClientSettings } from './s3-client.js';

/** Upload ids (UUIDs): the only object names the sweeps ever touch, so other objects in the bucket are safe. */
const UPLOAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Keys `put` accepts: ids Stowage makes, never client input; the check guards against a bug elsewhere. */
const SAFE_KEY = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/** How an S3 backend is set up; the module's `s3Storage` provider makes one from its resolved options. */
export interface S3StorageConfig {
  client: S3Client;
  bucket: string;
  /** Objects are `<prefix>/<key>`; no prefix: `<key>`. */
  prefix?: string;
  /** Bytes per part, and the largest object stored with one PUT. */
  partSize: number;
  /** Part buffers this backend holds at once, over every upload it stores. */
  partsInFlight: number;
  /** Where the bucket is, for messages (never credentials). */
  endpoint?: string;
  /** Destroy the client at shutdown: only a client the backend made itself. */
  ownsClient: boolean;
}

/**
 * Stored bytes as objects in an S3 bucket (AWS S3 or a compatible server), one object per upload at
 * `<prefix>/<upload id>` carrying the content type and, as metadata `sha256`, the whole file's
 * SHA-256 that Stowage computed on receipt.
 *
 * Storing streams the staged bytes in parts of `partSize`: an object up to one part goes up with one
 * PUT, larger ones as a multipart upload whose parts are sent `partsInFlight` at a time. The part
 * buffers are one budget for the whole backend, however many uploads are stored at once, so the bytes
 * in transit never take more than `partSize × partsInFlight` of memory, whatever the file sizes. The
 * bytes are hashed on the way, and only when size and SHA-256 match what was received is the object
 * committed (the one PUT, or CompleteMultipartUpload), with `If-None-Match: *`: a second writer of
 * the same upload cannot replace it. A run that finds the object already committed (a crash after
 * the commit, before the record said so) verifies it instead of writing again. Each request is retried
 * by the SDK (standard mode: 5xx, SlowDown, timeouts, reset connections) so one bad part does not
 * restart a large upload; what outlasts that becomes a transient `StorageError` and the whole store is
 * retried with the module's backoff. A failed multipart upload is aborted at once; the leftovers of a
 * crash are aborted when the upload is stored again, or by `sweepIncomplete`.
 */
export class S3Storage implements StorageBackend {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly partSize: number;
  private readonly budget: PartBudget;
  private readonly multipart: S3Multipart;
  /** Object keys this process is storing right now: the sweep leaves their multipart uploads alone. */
  private readonly storing = new Set<string>();
  /** Cleared when the server refuses `If-None-Match` on writes (older S3-compatible servers). */
  private conditionalWrites = true;

  constructor(private readonly config: S3StorageConfig) {
    this.client = config.client;
    this.bucket = config.bucket;
    this.prefix = config.prefix ? `${config.prefix}/` : '';
    this.partSize = config.partSize;
    this.budget = new PartBudget(config.partSize, config.partsInFlight);
    this.multipart = new S3Multipart(this.client, this.bucket, this.partSize, this.budget);
  }

  onApplicationShutdown(): void {
    if (this.config.ownsClient) this.client.destroy();
  }

  /** The bucket and where it is, as messages name it. */
  get location(): string {
    return `S3 bucket "${this.bucket}" at ${this.config.endpoint ?? 'AWS'}`;
  }

  objectKey(key: string): string {
    if (!SAFE_KEY.test(key)) throw new StorageError('INVALID_KEY', `Invalid storage key ${JSON.stringify(key)}`);
    return this.prefix + key;
  }

  async put(key: string, body: Readable, expected: ExpectedContent, signal?: AbortSignal): Promise<void> {
    const objectKey = this.objectKey(key);
    this.storing.add(objectKey);
    let reader: PartSource | undefined;
    try {
      if (await this.holds(objectKey, expected)) return; // committed by an earlier run
      await this.multipart.abortLeftovers(objectKey);
      reader = readerOf(body);
      if (expected.size <= this.partSize) await this.putWhole(objectKey, reader, expected, signal);
      else await this.multipart.put(objectKey, reader, expected, signal, (write) => this.commit(objectKey, expected, signal, write));
    } catch (err) {
      throw this.storageError(err, `store ${key}`);
    } finally {
      this.storing.delete(objectKey);
      body.destroy();
      await reader?.close();
    }
  }

  /**
   * Whether the object is there and holds `expected` (size and the SHA-256 in its metadata). One that
   * holds something else is removed, and the mismatch thrown: the port leaves nothing wrong at a key.
   */
  private async holds(objectKey: string, expected: ExpectedContent): Promise<boolean> {
    const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: objectKey })).catch((err: unknown) => {
      if (codeOf(err) === 'NOT_FOUND') return undefined;
      throw err;
    });
    if (!head) return false;
    if (head.ContentLength === expected.size && head.Metadata?.sha256 === expected.sha256) return true;
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: objectKey }));
    throw new StorageError(
      'CONTENT_MISMATCH',
      `Object ${objectKey} held other bytes than were received (size ${head.ContentLength}/${expected.size}, sha256 ${head.Metadata?.sha256 ?? 'none'}/${expected.sha256}); removed`,
    );
  }

  /** One PUT of the whole object (it fits in one part), sent only once the bytes are verified. */
  private async putWhole(objectKey: string, reader: PartSource, expected: ExpectedContent, signal?: AbortSignal): Promise<void> {
    const slot = await this.budget.take(expected.size);
    try {
      const size = await reader.fill(slot.buffer);
      const bytes = slot.buffer.subarray(0, size);
      verify(objectKey, size + (await reader.rest()), createHash('sha256').update(bytes).digest('hex'), expected);
      await this.commit(objectKey, expected, signal, (ifNoneMatch) =>
        this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: objectKey,
            Body: bytes,
            ContentLength: size,
            ContentType: expected.contentType,
            Metadata: { sha256: expected.sha256 },
            // The server checks the bytes against Stowage's own hash, where it supports checksums.
            ChecksumSHA256: Buffer.from(expected.sha256, 'hex').toString('base64'),
            IfNoneMatch: ifNoneMatch,
          }),
          { abortSignal: signal },
        ),
      );
    } finally {
      slot.release();
    }
  }

  /**
   * Runs the committing request with `If-None-Match: *` where the server takes it. A 412 means the
   * object was committed meanwhile (another run of the same upload): fine when it holds `expected`.
   */
  private async commit(
    objectKey: string,
    expected: ExpectedContent,
    signal: AbortSignal | undefined,
    write: (ifNoneMatch: string | undefined) => Promise<unknown>,
  ): Promise<void> {
    signal?.throwIfAborted();
    try {
      await write(this.conditionalWrites ? '*' : undefined);
    } catch (err) {
      const { name, status } = describeError(err);
      if (status === 412 || name === 'PreconditionFailed') {
        if (await this.holds(objectKey, expected)) return;
        throw err;
      }
      if (this.conditionalWrites && (status === 501 || name === 'NotImplemented')) {
        this.conditionalWrites = false; // an older server: one writer per upload is then the queue's promise alone
        await write(undefined);
        return;
      }
      throw err;
    }
  }

  async open(key: string, range?: ByteRange): Promise<Readable> {
    try {
      const got = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.objectKey(key),
          Range: range ? `bytes=${range.start}-${range.end}` : undefined,
        }),
      );
      return got.Body as Readable;
    } catch (err) {
      throw this.storageError(err, `open ${key}`);
    }
  }

  async stat(key: string): Promise<{ size: number } | undefined> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      return { size: head.ContentLength ?? 0 };
    } catch (err) {
      if (codeOf(err) === 'NOT_FOUND') return undefined;
      throw this.storageError(err, `stat ${key}`);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
    } catch (err) {
      if (codeOf(err) !== 'NOT_FOUND') throw this.storageError(err, `delete ${key}`);
    }
  }

  /** Every upload's object under the prefix, a page (1000) at a time; other objects are never listed. */
  async *keys(): AsyncIterable<string> {
    let ContinuationToken: string | undefined;
    do {
      const page = await this.client
        .send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix, Delimiter: '/', ContinuationToken }))
        .catch((err: unknown) => {
          throw this.storageError(err, 'list');
        });
      for (const object of page.Contents ?? []) {
        const key = object.Key?.slice(this.prefix.length);
        if (key && UPLOAD_ID.test(key)) yield key;
      }
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  /**
   * Aborts the multipart uploads of Stowage's own objects that nothing touched since `before`, except
   * those this process is running. "Touched" is the latest of the upload's start and its parts' times
   * (some servers report no real start time).
   */
  async sweepIncomplete(before: number): Promise<number> {
    let aborted = 0;
    try {
      for await (const upload of this.multipart.uploads(this.prefix)) {
        const id = upload.key.slice(this.prefix.length);
        if (!UPLOAD_ID.test(id) || this.storing.has(upload.key)) continue;
        try {
          if ((await this.multipart.lastTouched(upload)) >= before) continue;
          await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: upload.key, UploadId: upload.uploadId }));
          aborted += 1;
        } catch (err) {
          if (describeError(err).name !== 'NoSuchUpload') throw err; // completed or aborted since it was listed
        }
      }
    } catch (err) {
      throw this.storageError(err, 'sweep incomplete multipart uploads');
    }
    return aborted;
  }

  /** HeadBucket: the bucket exists and the credentials may use it. */
  async probe(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      const { name, status } = describeError(err);
      const code = status === 404 || name === 'NotFound' || name === 'NoSuchBucket' ? 'BUCKET_NOT_FOUND' : codeOf(err);
      const why =
        code === 'BUCKET_NOT_FOUND'
          ? 'does not exist'
          : code === 'PERMISSION_DENIED'
            ? `refused the credentials (${status ?? name}); check them (AWS_ACCESS_KEY_ID, the profile or the role) and the bucket's policy`
            : code === 'UNAVAILABLE' || code === 'TIMEOUT' || code === 'BUSY'
              ? `is not reachable (${reasonOf(err)})`
              : `cannot be used (${reasonOf(err)})`;
      throw new StorageError(code, `${this.location} ${why}`, { cause: err });
    }
  }

  async downloadLink(key: string, options: DownloadLinkOptions): Promise<string> {
    const { getSignedUrl } = await loadOptional(() => import('@aws-sdk/s3-request-presigner'), 'S3 download redirects', [
      '@aws-sdk/s3-request-presigner',
    ]);
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: this.objectKey(key),
      ResponseContentType: options.contentType,
      ResponseContentDisposition: options.contentDisposition,
    });
    return getSignedUrl(this.client, command, { expiresIn: Math.max(1, Math.round(options.expiresInMs / 1000)) });
  }

  private storageError(err: unknown, action: string): StorageError {
    if (err instanceof StorageError) return err;
    return new StorageError(codeOf(err), `${action} (${this.location}): ${reasonOf(err)}`, { cause: err });
  }
}
