import { UploadError } from './upload.error.js';

/** An unfinished resumable upload passed its expiry: it cannot be resumed, only started again. */
export class UploadExpiredError extends UploadError {
  constructor(id: string) {
    super('UPLOAD_EXPIRED', `Upload ${id} expired before it was finished; start a new upload`);
  }
}
