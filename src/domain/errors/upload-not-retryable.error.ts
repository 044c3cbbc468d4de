import { UploadError } from './upload.error.js';

export class UploadNotRetryableError extends UploadError {
  constructor(id: string, reason: string) {
    super('UPLOAD_NOT_RETRYABLE', `Upload ${id} cannot be retried: ${reason}`);
  }
}
