import type { Readable } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import { filter, firstValueFrom, throwError, timeout } from 'rxjs';
import { UPLOAD_RECORD_REPOSITORY, type UploadRecordRepository } from '../records/upload-record-repository.interface.js';
import { StagingArea, type StagedFile } from '../storage/staging-area.js';
import { STORAGE_BACKEND, type ByteRange, type StorageBackend } from '../storage/storage-backend.interface.js';
import { IdempotencyKeyTakenError } from '../domain/errors/idempotency-key-taken.error.js';
import { ChecksumMismatchError } from '../domain/errors/checksum-mismatch.error.js';
import { IdempotencyKeyReusedError } from '../domain/errors/idempotency-key-reused.error.js';
import { UploadNotRetryableError } from '../domain/errors/upload-not-retryable.error.js';
import { UploadNotFoundError } from '../domain/errors/upload-not-found.error.js';
import { UploadNotStoredError } from '../domain/errors/upload-not-stored.error.js';
import { FileReceivedEvent } from '../domain/events/file-received.event.js';
import { normalizeFilename } from '../domain/filename.js';
import { UploadAdmission } from './lifecycle/upload-admission.service.js';
import { UploadEventsPublisher } from './events/upload-events.publisher.js';
import { UploadStatusService } from './upload-status.service.js';
import { SETTLED_STATUSES, type UploadRecord, type UploadStatus } from '../domain/upload-record.js';
import { RESOLVED_UPLOADS_OPTIONS } from './module/uploads.constants.js';
import type { ResolvedUploadsOptions } from './module/uploads.options.js';
import { StructuredLogger } from '../common/structured-logger.js';

export interface UploadMetadata {
  /** Client-side name; normalized and kept as metadata only. */
  filename?: string;
  /** Declared MIME type; the leading bytes have the last word. */
  mimeType?: string;
  /** Expected SHA-256 (hex) of the bytes; a mismatch rejects the upload. */
  sha256?: string;
  /** A repeated upload with the same key and bytes returns the first upload instead of a second copy. */
  idempotencyKey?: string;
  requestId?: string;
  /** About how many bytes `source` holds, when known: from 8 MiB on, the SHA-256 runs on a helper thread. */
  sizeHint?: number;
}

export interface UploadPage {
  items: UploadRecord[];
  nextCursor: string | null;
}

/** The module's programmatic API: everything the HTTP layer does, usable from a host's own code. */
@Injectable()
export class UploadsService {
  private readonly logger = new StructuredLogger(UploadsService.name);

  constructor(
    @Inject(UPLOAD_RECORD_REPOSITORY) private readonly records: UploadRecordRepository,
    @Inject(STORAGE_BACKEND) private readonly backend: StorageBackend,
    @Inject(RESOLVED_UPLOADS_OPTIONS) private readonly options: ResolvedUploadsOptions,
    private readonly staging: StagingArea,
    private readonly events: UploadEventsPublisher,
    private readonly admission: UploadAdmission,
    private readonly status: UploadStatusService,
  ) {}

  /** Streams `source` into staging under the module's limits, then accepts it like an HTTP upload. */
  async upload(source: Readable, metadata: UploadMetadata = {}): Promise<UploadRecord> {
    const release = await this.admission.admit();
    try {
      const staged = await this.staging.receive(source, {
        declaredMimeType: metadata.mimeType,
        maxBytes: this.options.maxFileSize,
        allowedMimeTypes: this.options.allowedMimeTypes,
        sizeHint: metadata.sizeHint,
      });
      return await this.accept(staged, metadata);
    } finally {
      release();
    }
  }

  /**
   * Turns a staged file into an upload: checks the expected hash, writes the record (durably),
   * emits `file.received` and returns without waiting for storage. On any error the staged bytes
   * are removed, so a rejected upload leaves nothing behind. With an idempotency key already used
   * for the same bytes, the staged copy is dropped and the original record returned (its id differs
   * from `staged.id`).
   */
  async accept(staged: StagedFile, metadata: UploadMetadata = {}): Promise<UploadRecord> {
    try {
      const expected = metadata.sha256?.trim().toLowerCase();
      if (expected && expected !== staged.sha256) throw new ChecksumMismatchError(expected, staged.sha256);
      const key = metadata.idempotencyKey;
      const original = key === undefined ? undefined : await this.records.findByIdempotencyKey(key);
      if (original) return await this.replay(original, staged, key!);
      const now = new Date().toISOString();
      const record: UploadRecord = {
        id: staged.id,
        status: 'received',
        filename: normalizeFilename(metadata.filename),
        mimeType: staged.mimeType,
        size: staged.size,
        sha256: staged.sha256,
        receivedAt: now,
        updatedAt: now,
        attempts: 0,
        idempotencyKey: key,
        requestId: metadata.requestId,
      };
      try {
        await this.records.create(record);
      } catch (err) {
        // Lost a race with a concurrent request carrying the same key.
        if (err instanceof IdempotencyKeyTakenError) return await this.replay(await this.get(err.existingId), staged, err.key);
        throw err;
      }
      this.logger.log({
        msg: 'upload received',
        event: 'upload.received',
        uploadId: record.id,
        requestId: record.requestId,
        size: record.size,
        mimeType: record.mimeType,
      });
      this.events.publish(FileReceivedEvent.fromRecord(record));
      return record;
    } catch (err) {
      await this.staging.discard(staged.id);
      throw err;
    }
  }

  private async replay(original: UploadRecord, staged: StagedFile, key: string): Promise<UploadRecord> {
    if (original.sha256 !== staged.sha256 || original.size !== staged.size) throw new IdempotencyKeyReusedError(key, original.id);
    await this.staging.discard(staged.id);
    return original;
  }

  /** Puts a `failed` upload whose staged bytes still exist back into the storage work. */
  async retry(id: string): Promise<UploadRecord> {
    const record = await this.get(id);
    if (record.status !== 'failed') throw new UploadNotRetryableError(id, `it is ${record.status}, only failed uploads are retried`);
    if (!(await this.staging.exists(id))) {
      const where = this.options.staging === 'local' ? ' from this node (staging is local: retry on the node that received it)' : '';
      throw new UploadNotRetryableError(id, `its staged bytes are gone${where}`);
    }
    const result = await this.records.transition(id, ['failed'], {
      status: 'received',
      attempts: 0,
      error: undefined,
      failedAt: undefined,
    });
    if (!result.ok) throw new UploadNotRetryableError(id, `it is ${result.current?.status ?? 'gone'} now`);
    this.events.publish(FileReceivedEvent.fromRecord(result.record, { retry: true }));
    return result.record;
  }

  /** Removes staged bytes that never became an upload (the request failed before `accept`). */
  async discardUnaccepted(stagedId: string): Promise<void> {
    if (!(await this.records.get(stagedId))) await this.staging.discard(stagedId);
  }

  async get(id: string): Promise<UploadRecord> {
    const record = await this.records.get(id);
    if (!record) throw new UploadNotFoundError(id);
    return record;
  }

  async list(query: { status?: UploadStatus; limit?: number; cursor?: string } = {}): Promise<UploadPage> {
    const limit = query.limit ?? 20;
    const rows = await this.records.list({ status: query.status, limit: limit + 1, before: query.cursor });
    const items = rows.slice(0, limit);
    return { items, nextCursor: rows.length > limit ? items[items.length - 1].id : null };
  }

  /** The record of an upload whose bytes can be read; throws while it is not stored yet. */
  async getStored(id: string): Promise<UploadRecord> {
    const record = await this.get(id);
    if (record.status !== 'stored') throw new UploadNotStoredError(id, record.status);
    return record;
  }

  /**
   * Opens the stored bytes, or a byte range of them; throws while the upload is not stored yet.
   * Pass the record from `getStored` (e.g. to size a range first) to skip reading it again.
   */
  async openContent(upload: string | UploadRecord, range?: ByteRange): Promise<{ record: UploadRecord; stream: Readable }> {
    const record = typeof upload === 'string' ? await this.getStored(upload) : upload;
    if (record.status !== 'stored') throw new UploadNotStoredError(record.id, record.status);
    return { record, stream: await this.backend.open(record.id, range) };
  }

  /**
   * Where a client can fetch the stored bytes itself, when the module redirects downloads
   * (`s3.download: 'redirect'`): a presigned URL that expires after `s3.linkExpiresMs`. Undefined
   * when downloads go through the API.
   */
  async downloadLink(record: UploadRecord, contentDisposition?: string): Promise<string | undefined> {
    const s3 = this.options.s3;
    if (s3?.download !== 'redirect' || !this.backend.downloadLink) return undefined;
    return this.backend.downloadLink(record.id, { expiresInMs: s3.linkExpiresMs, contentType: record.mimeType, contentDisposition });
  }

  /** Removes the record, the stored bytes and any staged bytes. */
  async delete(id: string): Promise<void> {
    if (!(await this.records.delete(id))) throw new UploadNotFoundError(id);
    await Promise.all([this.backend.delete(id), this.staging.discard(id)]);
  }

  /**
   * Resolves with the record once the upload is `stored`; rejects once it is `failed`, when it does
   * not exist, or after `timeoutMs`. Event-driven (it follows `UploadStatusService.watch`), so a test
   * can await background work without polling or sleeping.
   */
  async waitUntilSettled(id: string, { timeoutMs = 30_000 }: { timeoutMs?: number } = {}): Promise<UploadRecord> {
    const settled = this.status.watch(id).pipe(
      filter((record) => SETTLED_STATUSES.includes(record.status)),
      timeout({ first: timeoutMs, with: () => throwError(() => new Error(`Upload ${id} did not settle within ${timeoutMs} ms`)) }),
    );
    const record = await firstValueFrom(settled);
    if (record.status === 'failed')
      throw Object.assign(new Error(`Upload ${id} failed: ${record.error?.message ?? 'unknown error'}`), { record });
    return record;
  }
}
