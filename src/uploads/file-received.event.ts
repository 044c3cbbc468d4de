import type { UploadRecord } from './upload-record.js';

/** Emitted once an upload's bytes are staged and its record exists, before the 202 goes out. */
export class FileReceivedEvent {
  static readonly eventName = 'file.received';
  readonly eventName = FileReceivedEvent.eventName;
  readonly version = 1;

  constructor(
    readonly uploadId: string,
    readonly filename: string,
    readonly mimeType: string,
    readonly size: number,
    readonly sha256: string,
    readonly receivedAt: string,
    /** The request that created the upload, so background logs can be tied to it. */
    readonly requestId?: string,
  ) {}

  static fromRecord(record: UploadRecord): FileReceivedEvent {
    return new FileReceivedEvent(
      record.id,
      record.filename,
      record.mimeType,
      record.size,
      record.sha256,
      record.receivedAt,
      record.requestId,
    );
  }
}
