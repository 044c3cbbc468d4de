import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { FileStoredEvent, OnUploadEvent, UploadsService } from 'stowage';

export interface FileIndexedEvent {
  uploadId: string;
  filename: string;
  lines: number;
}

/** Host processing chained on `file.stored`: reads the stored bytes, then announces its own event. */
@Injectable()
export class FileIndexer {
  constructor(
    private readonly uploads: UploadsService,
    private readonly events: EventEmitter2,
  ) {}

  @OnUploadEvent(FileStoredEvent)
  async onStored(event: FileStoredEvent): Promise<void> {
    const { stream } = await this.uploads.openContent(event.uploadId);
    let lines = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      for (const byte of chunk) if (byte === 0x0a) lines += 1;
    }
    const indexed: FileIndexedEvent = { uploadId: event.uploadId, filename: event.filename, lines };
    this.events.emit('file.indexed', indexed);
  }
}
