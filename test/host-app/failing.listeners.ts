import { Injectable } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { FileStoredEvent, OnUploadEvent } from 'stowage';

/** Host listeners that fail, each in one of the ways a real one might. Not part of the documented app. */
@Injectable()
export class FailingListeners {
  @OnUploadEvent(FileStoredEvent)
  onStoredRejects(event: FileStoredEvent): Promise<void> {
    return Promise.reject(new Error(`thumbnailer down for ${event.filename}`));
  }

  @OnUploadEvent(FileStoredEvent, { async: true })
  onStoredThrowsDeferred(): void {
    throw new Error('deferred listener broke');
  }

  @OnEvent(FileStoredEvent.eventName)
  onStoredPlainThrows(): void {
    throw new Error('plain listener broke');
  }

  @OnEvent(FileStoredEvent.eventName, { async: true })
  onStoredPlainThrowsDeferred(): void {
    throw new Error('plain deferred listener broke');
  }

  @OnEvent(FileStoredEvent.eventName, { suppressErrors: false })
  onStoredUnsuppressedRejects(): Promise<void> {
    return Promise.reject(new Error('unsuppressed listener broke'));
  }
}
