import { UploadError } from './upload.error.js';

/** The client speaks a version of the tus protocol this server does not. */
export class TusVersionUnsupportedError extends UploadError {
  constructor(
    given: string,
    readonly supported: readonly string[],
  ) {
    super('TUS_VERSION_UNSUPPORTED', `Tus-Resumable ${JSON.stringify(given)} is not supported (supported: ${supported.join(', ')})`);
  }
}
