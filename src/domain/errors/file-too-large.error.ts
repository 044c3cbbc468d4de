import { UploadError } from './upload.error.js';

export class FileTooLargeError extends UploadError {
  constructor(readonly maxBytes: number) {
    super('FILE_TOO_LARGE', `File exceeds the limit of ${maxBytes} bytes`);
  }
}
