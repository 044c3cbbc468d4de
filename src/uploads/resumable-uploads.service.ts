import { Inject, Injectable } from '@nestjs/common';
import { newUploadId } from '../domain/upload-id.js';
import { DisallowedFileTypeError } from '../domain/errors/disallowed-file-type.error.js';
import { FileTooLargeError } from '../domain/errors/file-too-large.error.js';
import { InvalidUploadError } from '../domain/errors/invalid-upload.error.js';
import { UploadExpiredError } from '../domain/errors/upload-expired.error.js';
import { UploadLockedError } from '../domain/errors/upload-locked.error.js';
import { UploadNotFoundError } from '../domain/errors/upload-not-found.error.js';
import { FileReceivedEvent } from '../domain/events/file-received.event.js';
import { normalizeFilename } from '../domain/filename.js';
import type { UploadRecord } from '../domain/upload-record.js';
import { UPLOAD_LOCKS, type UploadLocks } from '../records/upload-locks.interface.js';
import { UPLOAD_RECORD_REPOSITORY, type UploadRecordRepository } from '../records/upload-record-repository.interface.js';
import { declaredTypeAllowed, resolveContentType } from '../storage/content-type.js';
import { type ChunkSource, ResumableStaging } from '../storage/resumable-staging.js';
import { UploadEventsPublisher } from './events/upload-events.publisher.js';
import { UploadAdmission } from './lifecycle/upload-admission.service.js';
import { RESOLVED_UPLOADS_OPTIONS } from './module/uploads.constants.js';
import type { ResolvedUploadsOptions } from './module/uploads.options.js';
import { UploadsService } from './uploads.service.js';
import { type AppendChunkOptions, ResumableChunkWriter } from './resumable-chunk-writer.js';
import { checkConcatenation, concatenateParts } from './resumable-concatenation.js';
import { isExpired, sweepExpiredUploads } from './resumable-expiry.js';
import { StructuredLogger } from '../common/structured-logger.js';

export type { ChunkChecksum } from '../storage/resumable-staging.js';
export type { AppendChunkOptions } from './resumable-chunk-writer.js';

export interface ResumableUploadOptions {
  /** Total size in bytes; leave it out to give it later (with the last chunk at the latest). */
  length?: number;
  /** Client-side name; normalized like any upload's. */
  filename?: string;
  /** Declared MIME type; the leading bytes have the last word once they are in. */
  mimeType?: string;
  /** A part of a later concatenation: stays `receiving` when complete, until concatenated. */
  partial?: boolean;
  /** What the protocol echoes back (the tus `Upload-Metadata` and `Upload-Concat` as sent). */
  metadata?: string;
  concat?: string;
  requestId?: string;
}

/**
 * Resumable uploads (the tus protocol's model, without HTTP): create an upload, append chunks at
 * its offset, and once the last byte is in it becomes an upload like any other: record `received`,
 * `file.received`, the same storage work. One writer per upload at a time (`UploadLocks`).
 *
 * Durability: the upload's length, metadata and expiry are written durably when it is created (and
 * a deferred length when it is given). Its offset is the length of its staged file, which only ever
 * holds bytes received in order: each chunk is flushed (fdatasync: data and file size) before the
 * call resolves, so an acknowledged offset survives a crash, and bytes of a chunk cut off by one are
 * kept as the protocol asks. The record's `offset` follows without a flush of its own; a chunk with
 * a checksum marks its start durably first (`pendingFrom`), so unverified bytes are never adopted.
 *
 * The whole file's SHA-256 is computed in the background from the acknowledged bytes on disk
 * (`StagedFileHasher`), so it is right across restarts and processes: one that did not see the
 * earlier chunks hashes them from the file. The last chunk's answer waits for what is left of it
 * (logged with `upload.received` as `hashWaitMs`).
 */
@Injectable()
export class ResumableUploadsService {
  private readonly logger = new StructuredLogger(ResumableUploadsService.name);
  private readonly chunks: ResumableChunkWriter;

  constructor(
    @Inject(UPLOAD_RECORD_REPOSITORY) private readonly records: UploadRecordRepository,
    @Inject(RESOLVED_UPLOADS_OPTIONS) private readonly options: ResolvedUploadsOptions,
    @Inject(UPLOAD_LOCKS) private readonly locks: UploadLocks,
    private readonly files: ResumableStaging,
    private readonly uploads: UploadsService,
    private readonly admission: UploadAdmission,
    private readonly events: UploadEventsPublisher,
  ) {
    this.chunks = new ResumableChunkWriter({
      records,
      files,
      options,
      logger: this.logger,
      remove: (id) => this.remove(id),
      complete: (record) => this.complete(record),
    });
  }

  /** Largest upload accepted, in bytes (`maxFileSize`). */
  get maxSize(): number {
    return this.options.maxFileSize;
  }

  /** Creates an empty upload (`receiving`, offset 0); with length 0 it is complete at once. */
  async create(options: ResumableUploadOptions = {}): Promise<UploadRecord> {
    const { length } = options;
    if (length !== undefined && (!Number.isSafeInteger(length) || length < 0))
      throw new InvalidUploadError('Upload length must be a whole number of bytes');
    if (length !== undefined && length > this.options.maxFileSize) throw new FileTooLargeError(this.options.maxFileSize);
    if (!options.partial && !declaredTypeAllowed(options.mimeType, this.options.allowedMimeTypes)) {
      throw new DisallowedFileTypeError(
        `Declared type ${options.mimeType ?? 'application/octet-stream'} is not allowed (allowed: ${this.options.allowedMimeTypes.join(', ')})`,
      );
    }
    // An empty upload is complete at creation: its type is judged now, before anything exists.
    const emptyType =
      length === 0 && !options.partial
        ? await resolveContentType(Buffer.alloc(0), options.mimeType, this.options.allowedMimeTypes)
        : undefined;
    const release = await this.admission.admit();
    try {
      const id = newUploadId();
      const now = new Date();
      const record: UploadRecord = {
        id,
        status: 'receiving',
        filename: normalizeFilename(options.filename),
        mimeType: 'application/octet-stream',
        size: 0,
        sha256: '',
        receivedAt: now.toISOString(),
        updatedAt: now.toISOString(),
        attempts: 0,
        requestId: options.requestId,
        offset: 0,
        length,
        expiresAt: this.expiryFrom(now),
        resumable: {
          metadata: options.metadata,
          concat: options.partial ? (options.concat ?? 'partial') : undefined,
          declaredMimeType: options.mimeType,
        },
      };
      await this.files.create(id);
      try {
        await this.records.create(record);
      } catch (err) {
        await this.uploads.discardUnaccepted(id);
        throw err;
      }
      this.logger.log({
        msg: 'resumable upload created',
        event: 'upload.resumable_created',
        uploadId: id,
        requestId: options.requestId,
        length,
      });
      if (emptyType !== undefined) return await this.complete({ ...record, mimeType: emptyType });
      return record;
    } finally {
      release();
    }
  }

  /**
   * The upload's record, for a client that wants to resume: where it stands (`offset`), its
   * `length`, its expiry. Throws `UploadNotFoundError`, or `UploadExpiredError` once it expired.
   */
  async get(id: string): Promise<UploadRecord> {
    const record = await this.records.get(id);
    if (!record) throw new UploadNotFoundError(id);
    if (this.expired(record)) throw new UploadExpiredError(id);
    return this.current(record);
  }

  /** A record as it stands now: for an unfinished upload, the offset is its staged file's length. */
  async current(record: UploadRecord): Promise<UploadRecord> {
    if (record.status !== 'receiving') return record;
    const offset = record.resumable?.pendingFrom ?? (await this.files.size(record.id)) ?? record.offset ?? 0;
    return { ...record, offset, size: offset };
  }

  /**
   * Appends one chunk at `options.offset`; resolves with the record once the bytes and the new
   * offset are durable. The chunk that completes the upload hands it to the storage work, like a
   * POST. A chunk cut short by its source (a dropped connection) keeps what arrived, unless it
   * carries a checksum; then the error is thrown after the offset is recorded.
   */
  async append(id: string, source: ChunkSource, options: AppendChunkOptions): Promise<UploadRecord> {
    const release = await this.admission.admit();
    try {
      const unlock = await this.locks.acquire(id);
      if (!unlock) throw new UploadLockedError(id);
      try {
        const record = await this.records.get(id);
        if (!record) throw new UploadNotFoundError(id);
        if (this.expired(record)) throw new UploadExpiredError(id);
        return await this.chunks.append(record, source, options);
      } finally {
        await unlock();
      }
    } finally {
      release();
    }
  }

  /**
   * Creates the upload made of `partIds` (complete partial uploads) in that order, and hands it to
   * the storage work at once. The parts are removed once it exists.
   */
  async concatenate(partIds: readonly string[], options: Omit<ResumableUploadOptions, 'length' | 'partial'> = {}): Promise<UploadRecord> {
    const parts = await Promise.all(partIds.map((id) => this.get(id)));
    checkConcatenation(parts, options.mimeType, this.options);
    const release = await this.admission.admit();
    try {
      const record = await concatenateParts(
        {
          records: this.records,
          files: this.files,
          options: this.options,
          discardUnaccepted: (id) => this.uploads.discardUnaccepted(id),
          remove: (id) => this.remove(id),
        },
        partIds,
        options,
      );
      this.received(record);
      return record;
    } finally {
      release();
    }
  }

  /** Removes an upload, finished or not: record, staged and stored bytes (tus termination). */
  async terminate(id: string): Promise<void> {
    const unlock = await this.locks.acquire(id);
    if (!unlock) throw new UploadLockedError(id);
    try {
      this.files.hasher.forget(id);
      await this.uploads.delete(id);
    } finally {
      await unlock();
    }
  }

  /** Whether an unfinished upload is past its expiry. */
  expired(record: UploadRecord, now = Date.now()): boolean {
    return isExpired(record, now);
  }

  /**
   * Removes every unfinished upload past its expiry (record and bytes), reading them a page at a
   * time; `checkpoint` is called between steps and may throw to stop. Resolves how many went.
   */
  sweepExpired(checkpoint: () => void = () => undefined): Promise<number> {
    return sweepExpiredUploads(
      { records: this.records, locks: this.locks, logger: this.logger, remove: (id) => this.remove(id) },
      checkpoint,
    );
  }

  private async remove(id: string): Promise<void> {
    this.files.hasher.forget(id);
    await this.uploads.delete(id).catch((err: unknown) => {
      if (!(err instanceof UploadNotFoundError)) throw err;
    });
  }

  /** The last byte is in: the upload becomes `received` and goes the way of every upload. */
  private async complete(record: UploadRecord): Promise<UploadRecord> {
    const size = record.offset ?? 0;
    const waiting = process.hrtime.bigint();
    const sha256 = await this.files.hasher.digest(record.id, size);
    const hashWaitMs = Number((process.hrtime.bigint() - waiting) / 1_000_000n);
    const done = await this.records.transition(record.id, ['receiving'], {
      status: 'received',
      size,
      length: size,
      sha256,
      mimeType: record.mimeType,
      resumable: record.resumable,
      receivedAt: new Date().toISOString(),
      offset: undefined,
      expiresAt: undefined,
    });
    if (!done.ok) throw new UploadNotFoundError(record.id);
    this.received(done.record, hashWaitMs);
    return done.record;
  }

  /** The same log line and event as an upload made in one request. */
  private received(record: UploadRecord, hashWaitMs?: number): void {
    this.logger.log({
      msg: 'upload received',
      event: 'upload.received',
      uploadId: record.id,
      requestId: record.requestId,
      size: record.size,
      mimeType: record.mimeType,
      resumable: true,
      hashWaitMs,
    });
    this.events.publish(FileReceivedEvent.fromRecord(record));
  }

  private expiryFrom(now: Date): string {
    return new Date(now.getTime() + this.options.resumableExpiryMs).toISOString();
  }
}
