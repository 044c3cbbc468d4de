import { UploadError } from './upload.error.js';

/** A resumable upload's bytes were sent for another offset than the one it has reached. */
export class UploadOffsetMismatchError extends UploadError {
  constructor(
    readonly expected: number,
    given: number,
  ) {
    super(
      'UPLOAD_OFFSET_MISMATCH',
      `Upload-Offset is ${given}, but the upload is at ${expected}: ask for the offset (HEAD) and resume from there`,
    );
  }
}
