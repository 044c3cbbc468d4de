import { UploadError } from './upload.error.js';

/** The bytes of one resumable chunk do not match the checksum sent with them; they were dropped. */
export class ChunkChecksumMismatchError extends UploadError {
  constructor(algorithm: string) {
    super('CHUNK_CHECKSUM_MISMATCH', `Upload-Checksum (${algorithm}) does not match the bytes received; the chunk was discarded`);
  }
}
