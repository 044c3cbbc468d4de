import type { StorageErrorCode } from '../domain/errors/error-codes.js';
import { StorageError } from '../domain/errors/storage.error.js';

// How the S3 backend reads the AWS SDK's errors: which storage code each one is, and its reason in one line.

/** The S3 error names that mean "slow down"; retried like any transient error. */
const THROTTLED = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequestsException']);
const TIMED_OUT = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);
const REFUSED = new Set(['AccessDenied', 'Forbidden', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken']);

/** What an SDK (or network) error says about itself. */
export function describeError(err: unknown): { name?: string; status?: number; errno?: string } {
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

export function reasonOf(err: unknown): string {
  const { name, status, errno } = describeError(err);
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
  const { name = '', status, errno } = describeError(err);
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
