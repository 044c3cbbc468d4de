/** Thrown by `UploadRecordRepository.create` when another record already holds the idempotency key. */
export class IdempotencyKeyTakenError extends Error {
  constructor(
    readonly key: string,
    readonly existingId: string,
  ) {
    super(`Idempotency key already used by upload ${existingId}`);
    this.name = 'IdempotencyKeyTakenError';
  }
}
