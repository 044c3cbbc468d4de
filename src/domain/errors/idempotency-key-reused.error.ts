import { UploadError } from './upload.error.js';

export class IdempotencyKeyReusedError extends UploadError {
  constructor(key: string, existingId: string) {
    super('IDEMPOTENCY_KEY_REUSED', `Idempotency-Key ${JSON.stringify(key)} was used for upload ${existingId} with different bytes`);
  }
}
