import type { FileFailedEvent } from './file-failed.event.js';
import type { FileReceivedEvent } from './file-received.event.js';
import type { FileStoredEvent } from './file-stored.event.js';

export type UploadEvent = FileReceivedEvent | FileStoredEvent | FileFailedEvent;

/** An event's payload: everything but its name and version, as plain JSON-safe data. */
export function payloadOf<E extends UploadEvent>(event: E): Omit<E, 'eventName' | 'version'> {
  const { eventName: _name, version: _version, ...payload } = event;
  return payload;
}
