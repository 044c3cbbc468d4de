export const UPLOAD_STATUSES = ['receiving', 'received', 'processing', 'stored', 'failed'] as const;

/**
 * (receiving →) received → processing → stored | failed (a failed upload may go back to received on
 * retry). Only a resumable upload is ever `receiving`: its bytes arrive over several requests.
 */
export type UploadStatus = (typeof UPLOAD_STATUSES)[number];

export interface UploadFailure {
  code: string;
  message: string;
}

/** The persisted state of one upload. JSON-safe: it is written as-is by every record repository. */
export interface UploadRecord {
  id: string;
  status: UploadStatus;
  /** Client-supplied name, normalized; metadata only, never part of a path. */
  filename: string;
  mimeType: string;
  size: number;
  sha256: string;
  receivedAt: string;
  updatedAt: string;
  storedAt?: string;
  failedAt?: string;
  /** Storage attempts started so far. */
  attempts: number;
  error?: UploadFailure;
  idempotencyKey?: string;
  requestId?: string;
  /**
   * A resumable upload's bytes received so far (equal to `size` while `receiving`), as last recorded;
   * the staged file's length is the durable truth (see `ResumableUploadsService`).
   */
  offset?: number;
  /** A resumable upload's declared total size; absent while its length is deferred. */
  length?: number;
  /** When an unfinished resumable upload expires and its bytes are removed. */
  expiresAt?: string;
  /** What the resumable protocol keeps about an upload (absent for uploads made in one request). */
  resumable?: ResumableState;
}

/** Protocol state of a resumable upload, persisted with its record. */
export interface ResumableState {
  /** The `Upload-Metadata` header as the client sent it at creation. */
  metadata?: string;
  /** `partial`, or `final;<url> <url>` as the client sent it: a concatenation's part or whole. */
  concat?: string;
  /** The type the client declared, judged against the leading bytes once they are in. */
  declaredMimeType?: string;
  /** Whether `mimeType` has been judged from the leading bytes yet. */
  typeChecked?: boolean;
  /**
   * A chunk with a checksum is being written from this offset: until it is verified the upload
   * stands here, and bytes past it (left by a crash) are cut away before the next chunk.
   */
  pendingFrom?: number;
}

export const SETTLED_STATUSES: readonly UploadStatus[] = ['stored', 'failed'];
export const UNSETTLED_STATUSES: readonly UploadStatus[] = ['received', 'processing'];
