import type { FileReceivedEvent } from '../uploads/file-received.event.js';

/** Injection token of the {@link TaskTransport}. */
export const TASK_TRANSPORT = Symbol('TASK_TRANSPORT');

/**
 * Runs one storage attempt. Resolving settles the task; throwing asks the transport to try again
 * after a backoff (the handler itself decides when an error is final and records the failure).
 */
export type StorageTaskHandler = (task: FileReceivedEvent, attempt: number) => Promise<void>;

/** Carries storage work from the process that received an upload to the one that stores it. */
export interface TaskTransport {
  /** Sets the worker side; called once at module init by the process that does storage work. */
  process(handler: StorageTaskHandler): void;
  /** Queues the storage of one upload; resolves once the task is accepted, not when it is done. */
  dispatch(task: FileReceivedEvent): Promise<void>;
  /** Tasks queued, running or waiting for a retry: in this process, or the whole queue for a shared one. */
  backlog(): number;
  /** Stops taking tasks and waits up to `timeoutMs` for running ones; true when all finished. */
  drain(timeoutMs: number): Promise<boolean>;
}
