/** Base of the domain errors the HTTP layer maps to status codes; `code` is stable and machine-readable. */
export class UploadError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}
