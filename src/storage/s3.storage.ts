import { createHash } from 'node:crypto';
import { type FileHandle, open } from 'node:fs/promises';
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
import type { StorageErrorCode } from '../domain/errors/error-codes.js';
import { StorageError } from '../domain/errors/storage.error.js';
import type { ByteRange, DownloadLinkOptions, ExpectedContent, StorageBackend } from './storage-backend.interface.js';
import { loadOptional } from '../common/optional-package.js';

/** Upload ids (UUIDs): the only object names the sweeps ever touch, so other objects in the bucket are safe. */
const UPLOAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Keys `put` accepts: ids Stowage makes, never client input; the check guards against a bug elsewhere. */
const SAFE_KEY = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
/** The S3 error names that mean "slow down"; retried like any transient error. */
const THROTTLED = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequestsException']);
const TIMED_OUT = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);
const REFUSED = new Set(['AccessDenied', 'Forbidden', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken']);

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
      const { name, status } = describe(err);
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
          if (describe(err).name !== 'NoSuchUpload') throw err; // completed or aborted since it was listed
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
      const { name, status } = describe(err);
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

/** What an SDK (or network) error says about itself. */
function describe(err: unknown): { name?: string; status?: number; errno?: string } {
  const e = err as { name?: unknown; code?: unknown; message?: unknown; $metadata?: { httpStatusCode?: unknown } } | undefined;
  // The SDK turns an error it does not recognise as one (another realm's, e.g. under a VM context)
  // into "AWS SDK error wrapper for Error: connect ECONNREFUSED …", keeping only the text.
  const wrapped = typeof e?.message === 'string' ? /^AWS SDK error wrapper for .*\b(E[A-Z]{3,})\b/.exec(e.message)?.[1] : undefined;
  return {
    name: typeof e?.name === 'string' ? e.name : undefined,
    status: typeof e?.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined,
    errno: typeof e?.code === 'string' ? e.code : wrapped,
  };
}

function reasonOf(err: unknown): string {
  const { name, status, errno } = describe(err);
  const message = (err as Error)?.message || name || String(err);
  return [
    name && name !== 'Error' && !message.startsWith(name) ? `${name}:` : '',
    message,
    status ? `(HTTP ${status})` : errno ? `(${errno})` : '',
  ]
    .filter(Boolean)
    .join(' ');
}

/**
 * The storage code of an S3 SDK error: throttling, timeouts, 5xx and unreachable servers are
 * transient; refused credentials, a missing bucket and other 4xx answers are not.
 */
export function codeOf(err: unknown): StorageErrorCode {
  if (err instanceof StorageError) return err.code;
  const { name = '', status, errno } = describe(err);
  if (name === 'NoSuchBucket') return 'BUCKET_NOT_FOUND';
  // Our multipart upload was aborted under us (a sweep elsewhere): storing again will work.
  if (name === 'NoSuchUpload') return 'UNAVAILABLE';
  if (THROTTLED.has(name) || status === 429) return 'BUSY';
  if (TIMED_OUT.has(name) || errno === 'ETIMEDOUT') return 'TIMEOUT';
  if (REFUSED.has(name) || status === 403) return 'PERMISSION_DENIED';
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) return 'NOT_FOUND';
  if (status !== undefined && status >= 500) return 'UNAVAILABLE';
  if (status === undefined && errno !== undefined) {
    const code = StorageError.from(Object.assign(new Error(errno), { code: errno }), '').code;
    if (code !== 'STORAGE_ERROR') return code;
  }
  // The SDK marks what its own retry strategy would retry (e.g. a connection that dropped).
  if ((err as { $retryable?: unknown } | undefined)?.$retryable) return 'UNAVAILABLE';
  return 'STORAGE_ERROR';
}

/**
 * The part buffers of one backend: at most `slots` at once, whatever the number of uploads being
 * stored, handed out in request order. Full-size buffers are kept for reuse; smaller requests (a
 * whole small object) get a buffer of their own size, counted the same.
 */
class PartBudget {
  private readonly spare: Buffer[] = [];
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly partSize: number,
    slots: number,
  ) {
    this.free = slots;
  }

  async take(size: number): Promise<{ buffer: Buffer; release: () => void }> {
    if (this.free > 0) this.free -= 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    const full = size >= this.partSize;
    const buffer = full ? (this.spare.pop() ?? Buffer.allocUnsafeSlow(this.partSize)) : Buffer.allocUnsafe(size);
    let released = false;
    return {
      buffer,
      release: () => {
        if (released) return;
        released = true;
        if (full) this.spare.push(buffer);
        const next = this.waiting.shift();
        if (next) next();
        else this.free += 1;
      },
    };
  }
}

/** Where the parts' bytes come from: filled into the budget's buffers, in order. */
interface PartSource {
  /** Fills `target`; resolves how many bytes it holds (fewer only at the end). */
  fill(target: Buffer): Promise<number>;
  /** Counts what is left, for a size check: nothing, unless the source is longer than expected. */
  rest(): Promise<number>;
  close(): Promise<void>;
}

/**
 * A staged file (a file read stream, not started yet) is read straight into the part buffers,
 * with no chunk allocated per 64 KiB: garbage that, while the garbage collector waits, would count
 * against the memory the part budget promises. Any other stream is copied chunk by chunk.
 */
function readerOf(body: Readable): PartSource {
  const path = (body as Readable & { path?: unknown }).path;
  if (typeof path !== 'string' || body.readableFlowing !== null || body.readableLength > 0) return new PartReader(body);
  body.on('error', () => undefined); // never read: its own open of a missing file must not go unhandled (ours reports it)
  return new FileReader(path);
}

class FileReader implements PartSource {
  private handle?: Promise<FileHandle>;
  private position = 0;

  constructor(private readonly path: string) {}

  private file(): Promise<FileHandle> {
    return (this.handle ??= open(this.path, 'r'));
  }

  async fill(target: Buffer): Promise<number> {
    const file = await this.file();
    let filled = 0;
    while (filled < target.length) {
      const { bytesRead } = await file.read(target, filled, target.length - filled, this.position);
      if (bytesRead === 0) break;
      filled += bytesRead;
      this.position += bytesRead;
    }
    return filled;
  }

  async rest(): Promise<number> {
    return Math.max(0, (await (await this.file()).stat()).size - this.position);
  }

  async close(): Promise<void> {
    await (await this.handle?.catch(() => undefined))?.close();
  }
}

/** Reads a stream into caller-given buffers, carrying over what did not fit. */
class PartReader implements PartSource {
  private readonly chunks: AsyncIterator<Buffer>;
  private pending?: Buffer;

  constructor(body: Readable) {
    this.chunks = (body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  }

  /** Fills `target`; resolves how many bytes it holds (fewer only at the end of the stream). */
  async fill(target: Buffer): Promise<number> {
    let filled = 0;
    while (filled < target.length) {
      let chunk = this.pending;
      this.pending = undefined;
      if (!chunk) {
        const next = await this.chunks.next();
        if (next.done) break;
        chunk = next.value;
      }
      const copied = chunk.copy(target, filled);
      filled += copied;
      if (copied < chunk.length) this.pending = chunk.subarray(copied);
    }
    return filled;
  }

  async close(): Promise<void> {}

  /** Counts what is left, for a size check: nothing, unless the source is longer than expected. */
  async rest(): Promise<number> {
    let left = this.pending?.length ?? 0;
    this.pending = undefined;
    for (let next = await this.chunks.next(); !next.done; next = await this.chunks.next()) left += next.value.length;
    return left;
  }
}
