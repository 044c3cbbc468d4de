import { UploadError } from './upload.error.js';

/** Bytes sent to an upload that takes no more: a concatenated (final) upload, or one already complete. */
export class UploadNotPatchableError extends UploadError {
  constructor(id: string, why: string) {
    super('UPLOAD_NOT_PATCHABLE', `Upload ${id} takes no more bytes: ${why}`);
  }
}
