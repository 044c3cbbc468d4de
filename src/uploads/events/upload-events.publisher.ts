import { Injectable, Optional } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { UploadEvent } from '../../domain/events/upload-event.js';
import { StructuredLogger } from '../../common/structured-logger.js';

/**
 * Emits upload events without waiting for listeners; nothing a listener does changes the upload's
 * outcome. An error that reaches the emitter (`@OnEvent(..., { suppressErrors: false })`) is logged
 * here with the upload id; `@OnUploadEvent` listeners log their own, and plain `@OnEvent` ones are
 * logged by @nestjs/event-emitter.
 */
@Injectable()
export class UploadEventsPublisher {
  private readonly logger = new StructuredLogger('UploadEvents');

  private readonly emitter: EventEmitter2;

  constructor(@Optional() emitter?: EventEmitter2) {
    if (!emitter) {
      throw new Error(
        "UploadsModule needs an EventEmitter2: import EventEmitterModule.forRoot() in your app module, or pass eventEmitter: 'own' to UploadsModule.forRoot/forRootAsync",
      );
    }
    this.emitter = emitter;
  }

  /** Events this instance published: with two mounts in one app, each module knows its own uploads. */
  private readonly own = new WeakSet<UploadEvent>();

  published(event: UploadEvent): boolean {
    return this.own.has(event);
  }

  publish(event: UploadEvent): void {
    this.own.add(event);
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
