import { UploadError } from './upload.error.js';

export class ChecksumMismatchError extends UploadError {
  constructor(expected: string, actual: string) {
    super('CHECKSUM_MISMATCH', `sha256 mismatch: the form said ${expected}, the received bytes hash to ${actual}`);
  }
}
