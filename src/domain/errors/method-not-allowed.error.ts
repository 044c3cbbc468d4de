import { UploadError } from './upload.error.js';

/** A method (or X-HTTP-Method-Override) the resource does not answer. */
export class MethodNotAllowedError extends UploadError {
  constructor(
    method: string,
    readonly allowed: readonly string[],
  ) {
    super('METHOD_NOT_ALLOWED', `${method} is not allowed here (allowed: ${allowed.join(', ')})`);
  }
}
