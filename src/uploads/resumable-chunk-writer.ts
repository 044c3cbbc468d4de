import { ChunkChecksumMismatchError } from '../domain/errors/chunk-checksum-mismatch.error.js';
import { DisallowedFileTypeError } from '../domain/errors/disallowed-file-type.error.js';
import { FileTooLargeError } from '../domain/errors/file-too-large.error.js';
import { InvalidUploadError } from '../domain/errors/invalid-upload.error.js';
import { UploadNotFoundError } from '../domain/errors/upload-not-found.error.js';
import { UploadNotPatchableError } from '../domain/errors/upload-not-patchable.error.js';
import { UploadOffsetMismatchError } from '../domain/errors/upload-offset-mismatch.error.js';
import { UploadTooSlowError } from '../domain/errors/upload-too-slow.error.js';
import { UploadError } from '../domain/errors/upload.error.js';
import type { UploadRecord } from '../domain/upload-record.js';
import type { UploadRecordRepository } from '../records/upload-record-repository.interface.js';
import { resolveContentType, SNIFF_BYTES } from '../storage/content-type.js';
import type { ChunkChecksum, ChunkSource, ResumableStaging } from '../storage/resumable-staging.js';
import type { ResolvedUploadsOptions } from './module/uploads.options.js';
import type { StructuredLogger } from '../common/structured-logger.js';

export interface AppendChunkOptions {
  /** Where the client believes the upload stands; another offset is refused (409). */
  offset: number;
  /** Sets a deferred length (at the latest with the chunk that completes the upload). */
  length?: number;
  /** The chunk's declared size, when known: a chunk that cannot fit is refused before it is read. */
  contentLength?: number;
  /** Verified once the chunk is in; a mismatch drops it (460). */
  checksum?: ChunkChecksum;
  requestId?: string;
}

/** What writing a chunk needs from the service around it. */
export interface ChunkWriterContext {
  records: UploadRecordRepository;
  files: ResumableStaging;
  options: ResolvedUploadsOptions;
  logger: StructuredLogger;
  /** Removes an upload whose bytes can never be accepted. */
  remove(id: string): Promise<void>;
  /** The last byte is in: the upload becomes `received` and goes to the storage work. */
  complete(record: UploadRecord): Promise<UploadRecord>;
}

/**
 * One chunk of a resumable upload, for a caller that holds the upload's lock: checked against the
 * upload (offset, length, size limit, type, checksum), appended durably by `ResumableStaging`, its
 * new offset recorded, and the upload completed with its last byte. A refused chunk changes nothing;
 * an upload that can never be accepted (wrong type, too large with no length) is removed.
 */
export class ResumableChunkWriter {
  constructor(private readonly context: ChunkWriterContext) {}

  async append(record: UploadRecord, source: ChunkSource, options: AppendChunkOptions): Promise<UploadRecord> {
    const { id } = record;
    if (record.resumable?.concat?.startsWith('final')) throw new UploadNotPatchableError(id, 'it is a concatenation of other uploads');
    if (record.status !== 'receiving') throw new UploadNotPatchableError(id, `it is complete (${record.status})`);
    const length = this.lengthAfter(record, options.length);
    const partial = record.resumable?.concat === 'partial';
    const limit = length ?? this.context.options.maxFileSize;
    const tooLarge = () =>
      length === undefined
        ? new FileTooLargeError(this.context.options.maxFileSize)
        : new UploadError('FILE_TOO_LARGE', `The chunk goes past the upload's length of ${length} bytes`);
    const pendingFrom = record.resumable?.pendingFrom;
    const typePending = !partial && !record.resumable?.typeChecked;
    let mimeType = record.mimeType;
    let judged = false;
    const judge = async (head: Buffer) => {
      mimeType = await resolveContentType(head, record.resumable?.declaredMimeType, this.context.options.allowedMimeTypes);
      judged = true;
    };
    // Where the upload stands is found once its file is open (its length): the checks that need it run then.
    const begin = async (offset: number) => {
      if (options.offset !== offset) throw new UploadOffsetMismatchError(offset, options.offset);
      if (length !== undefined && length < offset) {
        throw new InvalidUploadError(`Upload-Length ${length} is less than the bytes already received`);
      }
      if (options.contentLength !== undefined && offset + options.contentLength > limit) throw tooLarge();
      // A chunk that may be refused whole (its checksum) marks where it starts, durably, before a byte is written.
      if (options.checksum)
        await this.context.records.transition(id, ['receiving'], { resumable: { ...record.resumable, pendingFrom: offset } });
    };
    let result;
    try {
      result = await this.context.files.append(id, source, {
        cutTo: pendingFrom,
        begin,
        maxTotal: limit,
        tooLarge,
        checksum: options.checksum,
        mismatch: () => new ChunkChecksumMismatchError(options.checksum!.algorithm),
        sniff: typePending ? judge : undefined,
        slowClient: this.context.options.slowClient,
        // A dropped connection or a client cut off for trickling keeps what arrived: it resumes from there.
        keepOnError: (err) => (err instanceof UploadTooSlowError || !(err instanceof UploadError)) && !options.checksum,
      });
    } catch (err) {
      // An upload whose bytes can never be accepted is removed, not left to expire.
      if (err instanceof DisallowedFileTypeError || (err instanceof FileTooLargeError && length === undefined && !options.contentLength)) {
        await this.context.remove(id);
      }
      throw err;
    }
    const newOffset = result.offset + result.appended;
    const complete = length !== undefined && newOffset === length;
    let typeChecked = record.resumable?.typeChecked ?? false;
    if (typePending && (newOffset >= SNIFF_BYTES || complete)) {
      try {
        if (!judged) await judge(result.head ?? (await this.context.files.readHead(id)));
      } catch (err) {
        await this.context.remove(id);
        throw err;
      }
      typeChecked = true;
    }
    const patch = {
      offset: newOffset,
      size: newOffset,
      length,
      mimeType,
      resumable: { ...record.resumable, typeChecked, pendingFrom: undefined },
    };
    let updated: UploadRecord;
    if (complete && !partial) {
      updated = await this.context.complete({ ...record, ...patch });
    } else {
      updated = await this.recordProgress(
        record,
        patch,
        options.checksum !== undefined || pendingFrom !== undefined || length !== record.length,
      );
      if (!partial && result.appended > 0) this.context.files.hasher.advance(id, newOffset);
    }
    // The request is gone (nobody reads an answer); the bytes it brought are kept all the same.
    if (result.interruptedBy !== undefined) {
      throw result.interruptedBy instanceof Error
        ? result.interruptedBy
        : new Error('the chunk was cut off', { cause: result.interruptedBy });
    }
    return updated;
  }

  /**
   * Records a chunk's progress. The bytes are already durable and the file's length is the offset,
   * so the record only follows: not awaited, unless it carries state the file does not (a length
   * given now, a checksummed chunk's mark). Writes to one record land in the order they were made.
   */
  private async recordProgress(record: UploadRecord, patch: Partial<UploadRecord>, durable: boolean): Promise<UploadRecord> {
    const moving = this.context.records.transition(record.id, ['receiving'], patch, { durable });
    if (durable) {
      const moved = await moving;
      if (!moved.ok) throw new UploadNotFoundError(record.id); // terminated meanwhile
      return moved.record;
    }
    moving.catch((err: unknown) =>
      this.context.logger.warn({
        msg: 'could not record a chunk’s offset',
        event: 'upload.resumable_record_failed',
        uploadId: record.id,
        err,
      }),
    );
    return { ...record, ...patch, updatedAt: new Date().toISOString() };
  }

  private lengthAfter(record: UploadRecord, given: number | undefined): number | undefined {
    if (given === undefined) return record.length;
    if (!Number.isSafeInteger(given) || given < 0) throw new InvalidUploadError('Upload-Length must be a whole number of bytes');
    if (record.length !== undefined && record.length !== given)
      throw new InvalidUploadError(`Upload-Length is ${record.length} and cannot change`);
    if (given > this.context.options.maxFileSize) throw new FileTooLargeError(this.context.options.maxFileSize);
    if (given < (record.offset ?? 0)) throw new InvalidUploadError(`Upload-Length ${given} is less than the bytes already received`);
    return given;
  }
}
