import type { UploadRecord } from '../upload-record.js';

/** What `file.stored` says. */
export interface FileStoredPayload {
  uploadId: string;
  filename: string;
  mimeType: string;
  size: number;
  sha256: string;
  storedAt: string;
  requestId?: string;
  /** When the upload was accepted; with `storedAt`, how long storage took end to end. */
  receivedAt: string;
}

// The payload's fields, declared once (in the payload) and assigned in the constructor.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-unsafe-declaration-merging
export interface FileStoredEvent extends FileStoredPayload {}

/** Emitted after the bytes are in their final place and the record says `stored`. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class FileStoredEvent {
  static readonly eventName = 'file.stored';
  readonly eventName = FileStoredEvent.eventName;
  readonly version = 1;

  constructor(payload: FileStoredPayload) {
    Object.assign(this, payload);
  }

  static fromRecord(record: UploadRecord): FileStoredEvent {
    const { id: uploadId, filename, mimeType, size, sha256, requestId, receivedAt } = record;
    return new FileStoredEvent({
      uploadId,
      filename,
      mimeType,
      size,
      sha256,
      storedAt: record.storedAt ?? record.updatedAt,
      requestId,
      receivedAt,
    });
  }
}
