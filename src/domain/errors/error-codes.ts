/**
 * Every error code Stowage reports, with the HTTP status it answers. A code is one of these keys,
 * so a new code without a status does not compile. Codes appear in error bodies (`code`), on a
 * failed upload's record (`error.code`), in `file.failed` and in metrics labels.
 */

/** What a request did wrong, or why it cannot be served now. */
export const UPLOAD_ERROR_STATUS = {
  MALFORMED_REQUEST: 400,
  INVALID_UPLOAD: 400,
  UPLOAD_NOT_PATCHABLE: 403,
  UPLOAD_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  UPLOAD_TOO_SLOW: 408,
  REQUEST_TIMEOUT: 408,
  UPLOAD_NOT_STORED: 409,
  UPLOAD_NOT_RETRYABLE: 409,
  IDEMPOTENCY_KEY_REUSED: 409,
  UPLOAD_OFFSET_MISMATCH: 409,
  UPLOAD_EXPIRED: 410,
  TUS_VERSION_UNSUPPORTED: 412,
  FILE_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RANGE_NOT_SATISFIABLE: 416,
  CHECKSUM_MISMATCH: 422,
  UPLOAD_LOCKED: 423,
  REQUEST_HEADERS_TOO_LARGE: 431,
  CHUNK_CHECKSUM_MISMATCH: 460,
  UPLOADS_UNAVAILABLE: 503,
  INSUFFICIENT_STORAGE: 507,
} as const satisfies Record<string, number>;

export type UploadErrorCode = keyof typeof UPLOAD_ERROR_STATUS;

/**
 * Why storing (or reading) the bytes failed. `transient` errors are retried with backoff; the
 * others fail the upload at once. The backend's own code (errno, S3 error name) stays in `cause`.
 */
export const STORAGE_ERROR_CODES = {
  PERMISSION_DENIED: { status: 500, transient: false },
  NOT_FOUND: { status: 500, transient: false },
  BUCKET_NOT_FOUND: { status: 500, transient: false },
  NO_SPACE: { status: 507, transient: true },
  IO_ERROR: { status: 500, transient: true },
  BUSY: { status: 503, transient: true },
  TIMEOUT: { status: 503, transient: true },
  UNAVAILABLE: { status: 503, transient: true },
  CONTENT_MISMATCH: { status: 500, transient: false },
  CONTENT_MISSING: { status: 500, transient: false },
  INVALID_KEY: { status: 500, transient: false },
  INVALID_JOB_DATA: { status: 500, transient: false },
  STAGING_UNREACHABLE: { status: 500, transient: false },
  STALLED: { status: 500, transient: false },
  STORAGE_ERROR: { status: 500, transient: false },
} as const satisfies Record<string, { status: number; transient: boolean }>;

export type StorageErrorCode = keyof typeof STORAGE_ERROR_CODES;

export type ErrorCode = UploadErrorCode | StorageErrorCode;

/** The HTTP status an error with `code` answers. */
export function statusOf(code: ErrorCode): number {
  return code in UPLOAD_ERROR_STATUS ? UPLOAD_ERROR_STATUS[code as UploadErrorCode] : STORAGE_ERROR_CODES[code as StorageErrorCode].status;
}
