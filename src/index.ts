/**
 * The public API of `stowage`, for host applications only: code inside this package imports the
 * files directly, never this barrel (it would make import cycles).
 */

// The module and its options
export { UploadsModule } from './uploads/module/uploads.module.js';
export {
  UPLOADS_MODULE_OPTIONS,
  type UploadsEventEmitterMode,
  type UploadsModuleExtras,
} from './uploads/module/uploads.module-definition.js';
export type {
  BackpressureLimits,
  Durability,
  MultipartLimits,
  SlowClientLimits,
  UploadsModuleOptions,
} from './uploads/module/uploads.options.js';
export type { S3Options, StagingMode, StorageBackendKind } from './uploads/module/storage-placement.js';
export type { RetryPolicy } from './tasks/retry-policy.js';
export type { QueueTuning, RedisConnectionOptions, TaskTransportKind, UploadsRole } from './uploads/module/uploads.topology.js';

// Events, and the decorator for host listeners
export { FileReceivedEvent } from './domain/events/file-received.event.js';
export { FileStoredEvent } from './domain/events/file-stored.event.js';
export { FileFailedEvent } from './domain/events/file-failed.event.js';
export type { UploadEvent } from './domain/events/upload-event.js';
export { OnUploadEvent, type UploadEventClass } from './uploads/events/on-upload-event.decorator.js';

// Programmatic use
export { UploadsService, type UploadMetadata, type UploadPage } from './uploads/uploads.service.js';
export { UploadStatusService } from './uploads/upload-status.service.js';
export {
  ResumableUploadsService,
  type AppendChunkOptions,
  type ChunkChecksum,
  type ResumableUploadOptions,
} from './uploads/resumable-uploads.service.js';
export type { ChunkSource } from './storage/resumable-staging.js';
export { UPLOAD_STATUSES, type ResumableState, type UploadFailure, type UploadRecord, type UploadStatus } from './domain/upload-record.js';

// Ports for custom implementations
export {
  STORAGE_BACKEND,
  type ByteRange,
  type DownloadLinkOptions,
  type ExpectedContent,
  type StorageBackend,
} from './storage/storage-backend.interface.js';
export { StorageError } from './domain/errors/storage.error.js';
export { IdempotencyKeyTakenError } from './domain/errors/idempotency-key-taken.error.js';
export {
  UPLOAD_RECORD_REPOSITORY,
  type ListRecordsQuery,
  type TransitionResult,
  type UploadRecordRepository,
} from './records/upload-record-repository.interface.js';

// HTTP shapes
export { ErrorResponseDto } from './uploads/http/dto/error-response.dto.js';
export { ListUploadsQueryDto } from './uploads/http/dto/list-uploads-query.dto.js';
export { UploadAcceptedDto } from './uploads/http/dto/upload-accepted.dto.js';
export { UploadFormDto } from './uploads/http/dto/upload-form.dto.js';
export { UploadListDto } from './uploads/http/dto/upload-list.dto.js';
export { UploadFailureDto, UploadRecordDto } from './uploads/http/dto/upload-record.dto.js';

// Domain errors (each has a stable `code`, and the table of codes to HTTP statuses)
export {
  STORAGE_ERROR_CODES,
  UPLOAD_ERROR_STATUS,
  statusOf,
  type ErrorCode,
  type StorageErrorCode,
  type UploadErrorCode,
} from './domain/errors/error-codes.js';
export { UploadError } from './domain/errors/upload.error.js';
export { InvalidUploadError } from './domain/errors/invalid-upload.error.js';
export { RangeNotSatisfiableError } from './domain/errors/range-not-satisfiable.error.js';
export { ChecksumMismatchError } from './domain/errors/checksum-mismatch.error.js';
export { DisallowedFileTypeError } from './domain/errors/disallowed-file-type.error.js';
export { FileTooLargeError } from './domain/errors/file-too-large.error.js';
export { IdempotencyKeyReusedError } from './domain/errors/idempotency-key-reused.error.js';
export { InsufficientStorageError } from './domain/errors/insufficient-storage.error.js';
export { UploadNotFoundError } from './domain/errors/upload-not-found.error.js';
export { UploadNotRetryableError } from './domain/errors/upload-not-retryable.error.js';
export { UploadNotStoredError } from './domain/errors/upload-not-stored.error.js';
export { UploadTooSlowError } from './domain/errors/upload-too-slow.error.js';
export { UploadsUnavailableError } from './domain/errors/uploads-unavailable.error.js';
export { UploadOffsetMismatchError } from './domain/errors/upload-offset-mismatch.error.js';
export { UploadLockedError } from './domain/errors/upload-locked.error.js';
export { UploadExpiredError } from './domain/errors/upload-expired.error.js';
export { ChunkChecksumMismatchError } from './domain/errors/chunk-checksum-mismatch.error.js';
export { UploadNotPatchableError } from './domain/errors/upload-not-patchable.error.js';
export { TusVersionUnsupportedError } from './domain/errors/tus-version-unsupported.error.js';
export { MethodNotAllowedError } from './domain/errors/method-not-allowed.error.js';
