import type { UploadRecord } from '../upload-record.js';

/** What `file.received` says; also the data of a storage task, on any transport. */
export interface FileReceivedPayload {
  uploadId: string;
  filename: string;
  mimeType: string;
  size: number;
  sha256: string;
  receivedAt: string;
  /** The request that created the upload, so background logs can be tied to it. */
  requestId?: string;
  /**
   * True when an upload received earlier is handed to storage again (a retry of a failed upload, or
   * a repair of one whose stored bytes vanished): not a new upload.
   */
  retry?: boolean;
}

// The payload's fields, declared once (in the payload) and assigned in the constructor.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-unsafe-declaration-merging
export interface FileReceivedEvent extends FileReceivedPayload {}

/** Emitted once an upload's bytes are staged and its record exists, before the 202 goes out. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class FileReceivedEvent {
  static readonly eventName = 'file.received';
  readonly eventName = FileReceivedEvent.eventName;
  readonly version = 1;

  constructor(payload: FileReceivedPayload) {
    Object.assign(this, payload);
  }

  static fromRecord(record: UploadRecord, { retry = false }: { retry?: boolean } = {}): FileReceivedEvent {
    const { id: uploadId, filename, mimeType, size, sha256, receivedAt, requestId } = record;
    return new FileReceivedEvent({ uploadId, filename, mimeType, size, sha256, receivedAt, requestId, ...(retry ? { retry } : {}) });
  }
}
