import { STORAGE_ERROR_CODES, type StorageErrorCode } from './error-codes.js';

/** Node's errno codes, by the storage code they mean. Anything else is a `STORAGE_ERROR`. */
const ERRNO: Record<string, StorageErrorCode> = {
  EACCES: 'PERMISSION_DENIED',
  EPERM: 'PERMISSION_DENIED',
  EROFS: 'PERMISSION_DENIED',
  ENOENT: 'NOT_FOUND',
  ENOTDIR: 'NOT_FOUND',
  ENOSPC: 'NO_SPACE',
  EDQUOT: 'NO_SPACE',
  EIO: 'IO_ERROR',
  EAGAIN: 'BUSY',
  EBUSY: 'BUSY',
  EMFILE: 'BUSY',
  ENFILE: 'BUSY',
  EINTR: 'BUSY',
  ETIMEDOUT: 'TIMEOUT',
  ECONNREFUSED: 'UNAVAILABLE',
  ECONNRESET: 'UNAVAILABLE',
  EPIPE: 'UNAVAILABLE',
  EHOSTUNREACH: 'UNAVAILABLE',
  ENETUNREACH: 'UNAVAILABLE',
};

/**
 * Every backend maps its failures into this one class. `transient` (from the code) tells the
 * retry policy whether to try again; the backend's own error is the `cause`.
 */
export class StorageError extends Error {
  readonly transient: boolean;

  constructor(
    readonly code: StorageErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StorageError';
    this.transient = STORAGE_ERROR_CODES[code].transient;
  }

  /** A Node system error (errno) as a storage error; a storage error stays as it is. */
  static from(err: unknown, action: string): StorageError {
    if (err instanceof StorageError) return err;
    const errno = (err as NodeJS.ErrnoException)?.code;
    const code = (errno !== undefined && ERRNO[errno]) || 'STORAGE_ERROR';
    return new StorageError(code, `${action}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
}
