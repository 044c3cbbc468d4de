import { type UploadErrorCode, UPLOAD_ERROR_STATUS } from './error-codes.js';

/** Base of the errors a request can cause; `code` is stable and machine-readable, `status` its HTTP answer. */
export class UploadError extends Error {
  readonly status: number;

  constructor(
    readonly code: UploadErrorCode,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
    this.status = UPLOAD_ERROR_STATUS[code];
  }
}
