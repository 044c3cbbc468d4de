import { UploadError } from './upload.error.js';

export class UploadTooSlowError extends UploadError {
  constructor(minBytesPerSecond: number, windowMs: number) {
    super('UPLOAD_TOO_SLOW', `Upload slower than ${minBytesPerSecond} bytes/s over ${windowMs} ms; connection closed`);
  }
}
