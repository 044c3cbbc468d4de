/**
 * The public API of `stowage`, for host applications only: code inside this package imports the
 * files directly, never this barrel (it would make import cycles).
 */

// The module and its options
export { UploadsModule } from './uploads/uploads.module.js';
export {
  UPLOADS_MODULE_OPTIONS,
  type UploadsEventEmitterMode,
  type UploadsModuleExtras,
} from './uploads/uploads.module-definition.js';
export type {
  BackpressureLimits,
  Durability,
  MultipartLimits,
  SlowClientLimits,
  UploadsModuleOptions,
} from './uploads/uploads.options.js';
export type { RetryPolicy } from './tasks/retry-policy.js';
export type { QueueTuning, RedisConnectionOptions, TaskTransportKind, UploadsRole } from './uploads/uploads.topology.js';

// Events, and the decorator for host listeners
export { FileReceivedEvent } from './uploads/file-received.event.js';
export { FileStoredEvent } from './uploads/file-stored.event.js';
export { FileFailedEvent } from './uploads/file-failed.event.js';
export type { UploadEvent } from './uploads/upload-events.publisher.js';
export { OnUploadEvent, type UploadEventClass } from './uploads/on-upload-event.decorator.js';

// Programmatic use
export { UploadsService, type UploadMetadata, type UploadPage } from './uploads/uploads.service.js';
export { UploadStatusService } from './uploads/upload-status.service.js';
export { UPLOAD_STATUSES, type UploadFailure, type UploadRecord, type UploadStatus } from './uploads/upload-record.js';

// Ports for custom implementations
export {
  STORAGE_BACKEND,
  type ByteRange,
  type ExpectedContent,
  type StorageBackend,
} from './storage/storage-backend.interface.js';
export { StorageError } from './storage/storage.error.js';
export {
  UPLOAD_RECORD_REPOSITORY,
  type ListRecordsQuery,
  type TransitionResult,
  type UploadRecordRepository,
} from './records/upload-record-repository.interface.js';

// HTTP shapes
export { ErrorResponseDto } from './uploads/dto/error-response.dto.js';
export { ListUploadsQueryDto } from './uploads/dto/list-uploads-query.dto.js';
export { UploadAcceptedDto } from './uploads/dto/upload-accepted.dto.js';
export { UploadFormDto } from './uploads/dto/upload-form.dto.js';
export { UploadPageDto } from './uploads/dto/upload-page.dto.js';
export { UploadFailureDto, UploadRecordDto } from './uploads/dto/upload-record.dto.js';

// Domain errors (each has a stable `code`)
export { UploadError } from './uploads/errors/upload.error.js';
export { ChecksumMismatchError } from './uploads/errors/checksum-mismatch.error.js';
export { DisallowedFileTypeError } from './uploads/errors/disallowed-file-type.error.js';
export { FileTooLargeError } from './uploads/errors/file-too-large.error.js';
export { IdempotencyKeyReusedError } from './uploads/errors/idempotency-key-reused.error.js';
export { InsufficientStorageError } from './uploads/errors/insufficient-storage.error.js';
export { UploadNotFoundError } from './uploads/errors/upload-not-found.error.js';
export { UploadNotRetryableError } from './uploads/errors/upload-not-retryable.error.js';
export { UploadNotStoredError } from './uploads/errors/upload-not-stored.error.js';
export { UploadTooSlowError } from './uploads/errors/upload-too-slow.error.js';
export { UploadsUnavailableError } from './uploads/errors/uploads-unavailable.error.js';
