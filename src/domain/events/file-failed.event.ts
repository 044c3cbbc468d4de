import type { UploadFailure, UploadRecord } from '../upload-record.js';

/** What `file.failed` says. */
export interface FileFailedPayload {
  uploadId: string;
  filename: string;
  error: UploadFailure;
  attempts: number;
  failedAt: string;
  requestId?: string;
}

// The payload's fields, declared once (in the payload) and assigned in the constructor.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-unsafe-declaration-merging
export interface FileFailedEvent extends FileFailedPayload {}

/** Emitted when storage gave up on an upload: a permanent error, or every attempt used. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class FileFailedEvent {
  static readonly eventName = 'file.failed';
  readonly eventName = FileFailedEvent.eventName;
  readonly version = 1;

  constructor(payload: FileFailedPayload) {
    Object.assign(this, payload);
  }

  static fromRecord(record: UploadRecord): FileFailedEvent {
    const { id: uploadId, filename, attempts, requestId } = record;
    const error = record.error ?? { code: 'UNKNOWN', message: 'unknown failure' };
    return new FileFailedEvent({ uploadId, filename, error, attempts, failedAt: record.failedAt ?? record.updatedAt, requestId });
  }
}
