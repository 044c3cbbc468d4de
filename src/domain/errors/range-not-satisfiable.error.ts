import { UploadError } from './upload.error.js';

/** A download asked for bytes outside the file. */
export class RangeNotSatisfiableError extends UploadError {
  constructor(readonly size: number) {
    super('RANGE_NOT_SATISFIABLE', `Range not satisfiable for ${size} bytes`);
  }
}
