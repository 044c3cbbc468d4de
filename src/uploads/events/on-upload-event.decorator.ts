import { OnEvent, type OnEventOptions } from '@nestjs/event-emitter';
import type { UploadEvent } from '../../domain/events/upload-event.js';
import { StructuredLogger } from '../../common/structured-logger.js';

/** An upload event class: it owns its name, and its instances are what listeners receive. */
export interface UploadEventClass<E extends UploadEvent = UploadEvent> {
  readonly eventName: E['eventName'];
  new (...args: never[]): E;
}

type Listener = (event: UploadEvent) => unknown;

const logger = new StructuredLogger('UploadEvents');
const guardedListeners = new WeakSet<Listener>();

/**
 * `@OnEvent` for the module's events, meant for host listeners: `@OnUploadEvent(FileStoredEvent)`.
 * A listener that throws or rejects is logged with the upload id (`event: 'upload.listener_failed'`)
 * and never rethrown, with or without `{ async: true }`, so it cannot change an upload's outcome or
 * crash the process. A plain `@OnEvent('file.stored')` is delivered the same events, but its errors
 * are logged by @nestjs/event-emitter without the upload id (docs/EMBEDDING.md has the details).
 */
export function OnUploadEvent<E extends UploadEvent>(
  eventClass: UploadEventClass<E>,
  options: Omit<OnEventOptions, 'suppressErrors'> = {},
): <M extends (event: E) => unknown>(target: object, key: string | symbol, descriptor: TypedPropertyDescriptor<M>) => void {
  return (target, key, descriptor) => {
    const listener = descriptor.value as Listener | undefined;
    if (typeof listener !== 'function') throw new Error(`@OnUploadEvent(${eventClass.eventName}) must decorate a method`);
    if (!guardedListeners.has(listener)) {
      const name = `${target.constructor.name}.${String(key)}`;
      const guarded: Listener = async function (this: unknown, event) {
        try {
          await listener.call(this, event);
        } catch (err) {
          logger.error({
            msg: `a ${event?.eventName ?? eventClass.eventName} listener failed`,
            event: 'upload.listener_failed',
            eventName: event?.eventName ?? eventClass.eventName,
            listener: name,
            uploadId: event?.uploadId,
            requestId: event?.requestId,
            err,
          });
        }
      };
      // Decorators applied below this one (another @OnEvent) put their metadata on the original.
      for (const metadataKey of Reflect.getOwnMetadataKeys(listener)) {
        Reflect.defineMetadata(metadataKey, Reflect.getOwnMetadata(metadataKey, listener), guarded);
      }
      Object.defineProperty(guarded, 'name', { value: listener.name });
      guardedListeners.add(guarded);
      descriptor.value = guarded as unknown as typeof descriptor.value;
    }
    OnEvent(eventClass.eventName, options)(target, key, descriptor as unknown as TypedPropertyDescriptor<Listener>);
  };
}
