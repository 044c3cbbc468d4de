import { UploadError } from './upload.error.js';

export class InsufficientStorageError extends UploadError {
  constructor(message = 'Not enough disk space to hold the upload') {
    super('INSUFFICIENT_STORAGE', message);
  }
}
