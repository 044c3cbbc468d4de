import { UploadError } from './upload.error.js';

export class DisallowedFileTypeError extends UploadError {
  constructor(reason: string) {
    super('UNSUPPORTED_MEDIA_TYPE', reason);
  }
}
