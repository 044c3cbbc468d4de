import type { StorageError } from '../domain/errors/storage.error.js';
import type { FileReceivedEvent } from '../domain/events/file-received.event.js';

/** Injection token of the {@link TaskTransport}. */
export const TASK_TRANSPORT = Symbol('TASK_TRANSPORT');

/** One storage task: the upload's `file.received` event. */
export type StorageTask = FileReceivedEvent;

/** The storage work a transport runs; registered once by the process that stores (`FileStorageService`). */
export interface StorageTaskHandler {
  /**
   * One attempt. Resolving settles the task; throwing asks the transport to try again after a
   * backoff (the handler itself decides when an error is final and records the failure).
   */
  run(task: StorageTask, attempt: number): Promise<void>;
  /** The transport gave up on a task outside `run` (its worker kept dying): settle it as failed. */
  giveUp(task: StorageTask, reason: StorageError, attempts: number): Promise<void>;
  /**
   * The task has left the transport. A transport that drops a dispatch while a task with the same
   * id is still running (BullMQ's job-id dedupe) calls it, so an upload put back meanwhile is queued again.
   */
  finished(task: StorageTask): Promise<void>;
}

/** Carries storage work from the process that received an upload to the one that stores it. */
export interface TaskTransport {
  /** Sets the worker side; called once at module init. A process without workers never runs it. */
  process(handler: StorageTaskHandler): void;
  /** Queues the storage of one upload; resolves once the task is accepted, not when it is done. */
  dispatch(task: StorageTask): Promise<void>;
  /** Tasks queued, running or waiting for a retry: in this process, or the whole queue for a shared one. */
  backlog(): number;
  /** Whether a task for `uploadId` is queued, running or waiting for a retry (anywhere, for a shared queue). */
  holds(uploadId: string): Promise<boolean>;
  /**
   * Finishes the work this process took on (queued and running tasks, retries in backoff) and then
   * stops; waits at most `timeoutMs`. True when all of it finished.
   */
  drain(timeoutMs: number): Promise<boolean>;
}
