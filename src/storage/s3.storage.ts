import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  type CompletedPart,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { StorageError } from '../domain/errors/storage.error.js';
import type { ByteRange, DownloadLinkOptions, ExpectedContent, StorageBackend } from './storage-backend.interface.js';
import { loadOptional } from '../common/optional-package.js';
import { codeOf, describeError, reasonOf } from './s3-errors.js';
import { PartBudget, type PartSource, readerOf } from './s3-parts.js';

/** Upload ids (UUIDs): the only object names the sweeps ever touch, so other objects in the bucket are safe. */
const UPLOAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Keys `put` accepts: ids Stowage makes, never client input; the check guards against a bug elsewhere. */
const SAFE_KEY = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/** How an S3 backend is set up; `createS3Storage` makes one from the module's resolved options. */
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

/** The connection settings of a client the module makes itself (credentials from the SDK's default chain). */
export interface S3ClientSettings {
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
  requestTimeoutMs: number;
}

export function createS3Client(settings: S3ClientSettings): S3Client {
  return new S3Client({
    region: settings.region,
    endpoint: settings.endpoint,
    forcePathStyle: settings.forcePathStyle,
    // A request whose socket moves nothing for this long fails as a TimeoutError (and is retried).
    requestHandler: { connectionTimeout: settings.requestTimeoutMs, socketTimeout: settings.requestTimeoutMs },
  });
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
      await this.abortLeftovers(objectKey);
      reader = readerOf(body);
      if (expected.size <= this.partSize) await this.putWhole(objectKey, reader, expected, signal);
      else await this.putInParts(objectKey, reader, expected, signal);
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

  /** A multipart upload; aborted at once when anything fails, so a failure leaves no parts behind. */
  private async putInParts(objectKey: string, reader: PartSource, expected: ExpectedContent, signal?: AbortSignal): Promise<void> {
    const { UploadId } = await this.client.send(
      new CreateMultipartUploadCommand({
        Bucket: this.bucket,
        Key: objectKey,
        ContentType: expected.contentType,
        Metadata: { sha256: expected.sha256 },
        ChecksumAlgorithm: 'SHA256',
      }),
      { abortSignal: signal },
    );
    const uploadId = UploadId!;
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const parts = await this.sendParts(objectKey, uploadId, reader, expected, stop);
      await this.commit(objectKey, expected, signal, (ifNoneMatch) =>
        this.client.send(
          new CompleteMultipartUploadCommand({
            Bucket: this.bucket,
            Key: objectKey,
            UploadId: uploadId,
            MultipartUpload: { Parts: parts },
            IfNoneMatch: ifNoneMatch,
          }),
          { abortSignal: signal },
        ),
      );
    } catch (err) {
      stop.abort();
      // Best effort: what stays (S3 unreachable) is aborted by the next run of this upload or the sweep.
      await this.client
        .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: objectKey, UploadId: uploadId }))
        .catch(() => undefined);
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Reads the parts in order (hashing the whole file on the way) and sends each as soon as it is
   * read, while the budget has a buffer for the next; resolves the parts once all are acknowledged
   * and the bytes matched `expected`.
   */
  private async sendParts(
    objectKey: string,
    uploadId: string,
    reader: PartSource,
    expected: ExpectedContent,
    stop: AbortController,
  ): Promise<CompletedPart[]> {
    const hash = createHash('sha256');
    const parts: CompletedPart[] = [];
    const sending = new Set<Promise<void>>();
    let size = 0;
    let failure: unknown;
    for (let number = 1; ; number += 1) {
      const slot = await this.budget.take(this.partSize);
      const read = failure === undefined ? await reader.fill(slot.buffer).catch((err: unknown) => ((failure ??= err), 0)) : 0;
      if (read === 0 || size + read > expected.size) {
        slot.release();
        size += read; // too long: the check below says so
        break;
      }
      const part = slot.buffer.subarray(0, read);
      hash.update(part);
      size += read;
      const sent: Promise<void> = this.sendPart(objectKey, uploadId, number, part, stop.signal)
        .then((done) => void parts.push(done))
        .catch((err: unknown) => {
          failure ??= err;
          stop.abort(); // the parts still in flight are wasted now
        })
        .finally(() => {
          slot.release();
          sending.delete(sent);
        });
      sending.add(sent);
      if (read < this.partSize) break; // the last part
    }
    await Promise.all(sending);
    if (failure !== undefined) throw failure as Error;
    verify(objectKey, size + (await reader.rest()), hash.digest('hex'), expected);
    return parts.sort((a, b) => a.PartNumber! - b.PartNumber!);
  }

  private async sendPart(objectKey: string, uploadId: string, number: number, part: Buffer, signal: AbortSignal): Promise<CompletedPart> {
    const checksum = createHash('sha256').update(part).digest('base64');
    const sent = await this.client.send(
      new UploadPartCommand({
        Bucket: this.bucket,
        Key: objectKey,
        UploadId: uploadId,
        PartNumber: number,
        Body: part,
        ContentLength: part.length,
        ChecksumSHA256: checksum,
      }),
      { abortSignal: signal },
    );
    return { PartNumber: number, ETag: sent.ETag, ChecksumSHA256: sent.ChecksumSHA256 ?? checksum };
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

  /**
   * Aborts the multipart uploads of `objectKey` that an earlier, interrupted run of this upload left
   * (one upload is stored by one run at a time: a job is held by one worker).
   */
  private async abortLeftovers(objectKey: string): Promise<void> {
    for await (const upload of this.multipartUploads(objectKey)) {
      if (upload.key !== objectKey) continue;
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: objectKey, UploadId: upload.uploadId }));
    }
  }

  private async *multipartUploads(prefix: string): AsyncGenerator<{ key: string; uploadId: string; initiated?: Date }> {
    let KeyMarker: string | undefined;
    let UploadIdMarker: string | undefined;
    do {
      const page = await this.client.send(
        new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: prefix, KeyMarker, UploadIdMarker }),
      );
      for (const u of page.Uploads ?? []) if (u.Key && u.UploadId) yield { key: u.Key, uploadId: u.UploadId, initiated: u.Initiated };
      ({ NextKeyMarker: KeyMarker, NextUploadIdMarker: UploadIdMarker } = page);
      if (!page.IsTruncated) break;
    } while (KeyMarker !== undefined);
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
      for await (const upload of this.multipartUploads(this.prefix)) {
        const id = upload.key.slice(this.prefix.length);
        if (!UPLOAD_ID.test(id) || this.storing.has(upload.key)) continue;
        try {
          if ((await this.lastTouched(upload)) >= before) continue;
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

  private async lastTouched(upload: { key: string; uploadId: string; initiated?: Date }): Promise<number> {
    const listed = await this.client.send(new ListPartsCommand({ Bucket: this.bucket, Key: upload.key, UploadId: upload.uploadId }));
    return Math.max(upload.initiated?.getTime() ?? 0, ...(listed.Parts ?? []).map((p) => p.LastModified?.getTime() ?? 0));
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

function verify(objectKey: string, size: number, sha256: string, expected: ExpectedContent): void {
  if (size === expected.size && sha256 === expected.sha256) return;
  throw new StorageError(
    'CONTENT_MISMATCH',
    `Staged bytes of ${objectKey} do not match what was received (size ${size}/${expected.size}, sha256 ${size === expected.size ? sha256 : 'not computed'}/${expected.sha256})`,
  );
}
