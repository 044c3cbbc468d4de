import { UploadError } from './upload.error.js';

export class UploadNotFoundError extends UploadError {
  constructor(id: string) {
    super('UPLOAD_NOT_FOUND', `Upload ${id} not found`);
  }
}
