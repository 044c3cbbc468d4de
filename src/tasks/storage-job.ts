import { StorageError } from '../storage/storage.error.js';
import { FileReceivedEvent } from '../uploads/file-received.event.js';

/** Name of the module's BullMQ queue; its Redis keys are `<redis.prefix>:uploads:*`. */
export const UPLOADS_QUEUE = 'uploads';

/** The one job type on the queue: store one upload. */
export const STORE_JOB = 'store';

/** Backoff type of storage jobs, resolved by the workers' custom strategy (the module's retry policy). */
export const STORAGE_BACKOFF = 'stowage-retry-policy';

/** A storage job's data: the `file.received` event as plain JSON (ids and references, never bytes). */
export interface StorageJobData {
  eventName: typeof FileReceivedEvent.eventName;
  version: 1;
  uploadId: string;
  filename: string;
  mimeType: string;
  size: number;
  sha256: string;
  receivedAt: string;
  requestId?: string;
}

export function toJobData(event: FileReceivedEvent): StorageJobData {
  const { uploadId, filename, mimeType, size, sha256, receivedAt, requestId } = event;
  return { eventName: FileReceivedEvent.eventName, version: 1, uploadId, filename, mimeType, size, sha256, receivedAt, requestId };
}

/** Rebuilds the event on the worker; a payload of another shape or version is a permanent error. */
export function fromJobData(data: StorageJobData): FileReceivedEvent {
  if (data?.eventName !== FileReceivedEvent.eventName || data.version !== 1) {
    throw new StorageError('EJOBDATA', `Unsupported storage job payload (${String(data?.eventName)} v${String(data?.version)})`, false);
  }
  return new FileReceivedEvent(data.uploadId, data.filename, data.mimeType, data.size, data.sha256, data.receivedAt, data.requestId);
}
