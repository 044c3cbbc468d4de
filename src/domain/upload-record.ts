export const UPLOAD_STATUSES = ['received', 'processing', 'stored', 'failed'] as const;

/** received → processing → stored | failed (a failed upload may go back to received on retry). */
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
}

export const SETTLED_STATUSES: readonly UploadStatus[] = ['stored', 'failed'];
export const UNSETTLED_STATUSES: readonly UploadStatus[] = ['received', 'processing'];
