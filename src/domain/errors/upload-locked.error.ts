import { UploadError } from './upload.error.js';

/** Another request is writing to this resumable upload right now. */
export class UploadLockedError extends UploadError {
  constructor(id: string) {
    super('UPLOAD_LOCKED', `Upload ${id} is being written by another request; retry once it ends`);
  }
}
