import type { UploadRecord } from './upload-record.js';

/** Emitted after the bytes are in their final place and the record says `stored`. */
export class FileStoredEvent {
  static readonly eventName = 'file.stored';
  readonly eventName = FileStoredEvent.eventName;
  readonly version = 1;

  constructor(
    readonly uploadId: string,
    readonly filename: string,
    readonly mimeType: string,
    readonly size: number,
    readonly sha256: string,
    readonly storedAt: string,
    readonly requestId?: string,
    /** When the upload was accepted; with `storedAt`, how long storage took end to end. */
    readonly receivedAt?: string,
  ) {}

  static fromRecord(record: UploadRecord): FileStoredEvent {
    return new FileStoredEvent(
      record.id,
      record.filename,
      record.mimeType,
      record.size,
      record.sha256,
      record.storedAt ?? record.updatedAt,
      record.requestId,
      record.receivedAt,
    );
  }
}
