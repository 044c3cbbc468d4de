import { UploadError } from './upload.error.js';

/** New uploads are refused for now: shutting down, or too much work already held. */
export class UploadsUnavailableError extends UploadError {
  constructor(
    reason: string,
    readonly retryAfterSeconds: number,
    /** The process is going away: the client should reconnect elsewhere. */
    readonly closing = false,
  ) {
    super('UPLOADS_UNAVAILABLE', reason);
  }
}
