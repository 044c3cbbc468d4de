import { StorageError } from '../domain/errors/storage.error.js';
import { FileReceivedEvent, type FileReceivedPayload } from '../domain/events/file-received.event.js';
import { payloadOf } from '../domain/events/upload-event.js';
import type { StorageTask } from './task-transport.interface.js';

/** Name of the module's BullMQ queue; its Redis keys are `<redis.prefix>:uploads:*`. */
export const UPLOADS_QUEUE = 'uploads';

/** The one job type on the queue: store one upload. */
export const STORE_JOB = 'store';

/** Backoff type of storage jobs, resolved by the workers' custom strategy (the module's retry policy). */
export const STORAGE_BACKOFF = 'stowage-retry-policy';

/** A storage job's data: the `file.received` payload and its version (ids and references, never bytes). */
export type StorageJobData = FileReceivedPayload & { version: 1 };

export function toJobData(task: StorageTask): StorageJobData {
  return { ...payloadOf(task), version: task.version };
}

/** Rebuilds the task on the worker; a payload of another version is a permanent error. */
export function fromJobData(data: StorageJobData): StorageTask {
  const { version, ...payload } = data ?? {};
  if (version !== 1 || typeof payload.uploadId !== 'string') {
    throw new StorageError('INVALID_JOB_DATA', `Unsupported storage job payload (version ${String(version)})`);
  }
  // Jobs queued before the payload shape settled also carried the event's name.
  delete (payload as { eventName?: unknown }).eventName;
  return new FileReceivedEvent(payload);
}
