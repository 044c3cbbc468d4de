import type { UploadStatus } from '../upload-record.js';
import { UploadError } from './upload.error.js';

export class UploadNotStoredError extends UploadError {
  constructor(id: string, status: UploadStatus) {
    super('UPLOAD_NOT_STORED', `Upload ${id} is ${status}, its content is readable once it is stored`);
  }
}
