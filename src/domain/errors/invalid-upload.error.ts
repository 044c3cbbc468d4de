import { UploadError } from './upload.error.js';

/** The request is not an upload Stowage can read: not multipart, no file, a malformed body or header. */
export class InvalidUploadError extends UploadError {
  constructor(reason: string) {
    super('INVALID_UPLOAD', reason);
  }
}
