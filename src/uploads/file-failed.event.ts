import type { UploadFailure, UploadRecord } from './upload-record.js';

/** Emitted when storage gave up on an upload: a permanent error, or every attempt used. */
export class FileFailedEvent {
  static readonly eventName = 'file.failed';
  readonly eventName = FileFailedEvent.eventName;
  readonly version = 1;

  constructor(
    readonly uploadId: string,
    readonly filename: string,
    readonly error: UploadFailure,
    readonly attempts: number,
    readonly failedAt: string,
    readonly requestId?: string,
  ) {}

  static fromRecord(record: UploadRecord): FileFailedEvent {
    return new FileFailedEvent(
      record.id,
      record.filename,
      record.error ?? { code: 'UNKNOWN', message: 'unknown failure' },
      record.attempts,
      record.failedAt ?? record.updatedAt,
      record.requestId,
    );
  }
}

