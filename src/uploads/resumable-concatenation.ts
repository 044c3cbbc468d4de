import { newUploadId } from '../domain/upload-id.js';
import { DisallowedFileTypeError } from '../domain/errors/disallowed-file-type.error.js';
import { FileTooLargeError } from '../domain/errors/file-too-large.error.js';
import { InvalidUploadError } from '../domain/errors/invalid-upload.error.js';
import { normalizeFilename } from '../domain/filename.js';
import type { UploadRecord } from '../domain/upload-record.js';
import type { UploadRecordRepository } from '../records/upload-record-repository.interface.js';
import { declaredTypeAllowed, resolveContentType } from '../storage/content-type.js';
import type { ResumableStaging } from '../storage/resumable-staging.js';
import type { ResolvedUploadsOptions } from './module/uploads.options.js';

/** What the final upload takes from its creation request (tus: `Upload-Metadata`, `Upload-Concat`). */
export interface ConcatenationOptions {
  filename?: string;
  mimeType?: string;
  metadata?: string;
  concat?: string;
  requestId?: string;
}

/** What building a concatenation needs from the service around it. */
export interface ConcatenationContext {
  records: UploadRecordRepository;
  files: ResumableStaging;
  options: ResolvedUploadsOptions;
  /** Removes staged bytes that never became an upload. */
  discardUnaccepted(id: string): Promise<void>;
  /** Removes a partial upload: record and bytes. */
  remove(id: string): Promise<void>;
}

/**
 * Refuses a concatenation before anything is written: every part must be a complete partial
 * upload, the whole within the size limit, the declared type allowed.
 */
export function checkConcatenation(parts: readonly UploadRecord[], mimeType: string | undefined, options: ResolvedUploadsOptions): void {
  if (parts.length === 0) throw new InvalidUploadError('A concatenation needs at least one partial upload');
  let total = 0;
  for (const part of parts) {
    if (part.resumable?.concat !== 'partial') throw new InvalidUploadError(`Upload ${part.id} is not a partial upload`);
    if (part.length === undefined || part.offset !== part.length) throw new InvalidUploadError(`Partial upload ${part.id} is not complete`);
    total += part.length;
  }
  if (total > options.maxFileSize) throw new FileTooLargeError(options.maxFileSize);
  if (!declaredTypeAllowed(mimeType, options.allowedMimeTypes)) {
    throw new DisallowedFileTypeError(`Declared type ${mimeType ?? 'application/octet-stream'} is not allowed`);
  }
}

/**
 * Writes the parts, in order, into one new staged file and records it `received` (hashed and typed
 * on the way); the parts are removed once it exists, or when its type is refused. A failure leaves
 * no new file and no record.
 */
export async function concatenateParts(
  context: ConcatenationContext,
  partIds: readonly string[],
  options: ConcatenationOptions,
): Promise<UploadRecord> {
  const id = newUploadId();
  const { size, sha256 } = await context.files.concatenate(id, partIds);
  let mimeType: string;
  try {
    mimeType = await resolveContentType(await context.files.readHead(id), options.mimeType, context.options.allowedMimeTypes);
  } catch (err) {
    await context.discardUnaccepted(id);
    await Promise.all(partIds.map((part) => context.remove(part)));
    throw err;
  }
  const now = new Date().toISOString();
  const record: UploadRecord = {
    id,
    status: 'received',
    filename: normalizeFilename(options.filename),
    mimeType,
    size,
    sha256,
    receivedAt: now,
    updatedAt: now,
    attempts: 0,
    requestId: options.requestId,
    length: size,
    resumable: { metadata: options.metadata, concat: options.concat ?? 'final', declaredMimeType: options.mimeType, typeChecked: true },
  };
  try {
    await context.records.create(record);
  } catch (err) {
    await context.discardUnaccepted(id);
    throw err;
  }
  await Promise.all(partIds.map((part) => context.remove(part)));
  return record;
}
