import type { UploadRecord, UploadStatus } from '../domain/upload-record.js';

/** Injection token of the {@link UploadRecordRepository}. */
export const UPLOAD_RECORD_REPOSITORY = Symbol('UPLOAD_RECORD_REPOSITORY');

export interface ListRecordsQuery {
  status?: UploadStatus;
  limit: number;
  /** Return only records with an id lower (older) than this one. */
  before?: string;
}

export type TransitionResult = { ok: true; record: UploadRecord } | { ok: false; current: UploadRecord | undefined };

export interface TransitionOptions {
  /**
   * `false` when losing this step to a power loss is harmless (a crash returns the record to its
   * earlier status and recovery redoes the step), so a store may skip making it durable. A record is
   * never left torn either way.
   * @default true
   */
  durable?: boolean;
}

/** Where upload records live. Every implementation must make `transition` atomic per record. */
export interface UploadRecordRepository {
  /**
   * Persists a new record; durable before it resolves when the module's durability is `fsync`.
   * Claims `record.idempotencyKey` atomically: throws `IdempotencyKeyTakenError` if another record has it.
   */
  create(record: UploadRecord): Promise<void>;
  get(id: string): Promise<UploadRecord | undefined>;
  /**
   * Applies `patch` only if the record's status is one of `from`, as one atomic step; otherwise
   * leaves it alone and returns what is there (undefined when the record does not exist).
   */
  transition(
    id: string,
    from: readonly UploadStatus[],
    patch: Partial<Omit<UploadRecord, 'id'>>,
    options?: TransitionOptions,
  ): Promise<TransitionResult>;
  /** Newest first (ids are time-ordered). */
  list(query: ListRecordsQuery): Promise<UploadRecord[]>;
  findByIdempotencyKey(key: string): Promise<UploadRecord | undefined>;
  /** Every record whose status is one of `statuses`, oldest first. */
  findByStatus(statuses: readonly UploadStatus[]): Promise<UploadRecord[]>;
  /** How many records have `status` (cheap: read for metrics on every scrape). */
  countByStatus(status: UploadStatus): Promise<number>;
  /** Returns false when there was nothing to delete. */
  delete(id: string): Promise<boolean>;
  /**
   * Whether the store can be reached right now, for stores behind a network; admission refuses new
   * uploads (503) while it cannot. Left out by stores that are always there.
   */
  available?(): boolean;
}
