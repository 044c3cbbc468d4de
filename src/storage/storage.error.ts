/** Every backend maps its failures into this one class; `transient` tells the retry policy whether to try again. */
export class StorageError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly transient: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StorageError';
  }

  /** Node fs errors: resource pressure is worth retrying, a missing or forbidden path is not. */
  static fromFs(err: unknown, action: string): StorageError {
    if (err instanceof StorageError) return err;
    const code = (err as NodeJS.ErrnoException)?.code ?? 'EUNKNOWN';
    const message = `${action}: ${(err as Error)?.message ?? String(err)}`;
    return new StorageError(code, message, TRANSIENT_FS_CODES.has(code), { cause: err });
  }
}

const TRANSIENT_FS_CODES = new Set(['EAGAIN', 'EBUSY', 'EMFILE', 'ENFILE', 'ENOSPC', 'EIO', 'ETIMEDOUT', 'EINTR', 'EDQUOT']);
