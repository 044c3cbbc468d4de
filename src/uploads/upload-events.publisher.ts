import { Injectable, Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { FileFailedEvent } from './file-failed.event.js';
import type { FileReceivedEvent } from './file-received.event.js';
import type { FileStoredEvent } from './file-stored.event.js';

export type UploadEvent = FileReceivedEvent | FileStoredEvent | FileFailedEvent;

/**
 * Emits upload events without waiting for listeners. A listener that throws (a host's included)
 * is logged with the upload id and never changes the upload's outcome.
 */
@Injectable()
export class UploadEventsPublisher {
  private readonly logger = new Logger('UploadEvents');

  constructor(private readonly emitter: EventEmitter2) {}

  publish(event: UploadEvent): void {
    try {
      this.emitter.emitAsync(event.eventName, event).catch((err: unknown) => this.listenerFailed(event, err));
    } catch (err) {
      this.listenerFailed(event, err);
    }
  }

  private listenerFailed(event: UploadEvent, err: unknown): void {
    this.logger.error({
      msg: `a ${event.eventName} listener failed`,
      event: 'upload.listener_failed',
      eventName: event.eventName,
      uploadId: event.uploadId,
      requestId: event.requestId,
      err,
    });
  }
}
