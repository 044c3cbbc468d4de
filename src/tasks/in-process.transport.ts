import PQueue from 'p-queue';
import pTimeout from 'p-timeout';
import { backoffDelay, type RetryPolicy } from './retry-policy.js';
import type { StorageTask, StorageTaskHandler, TaskTransport } from './task-transport.interface.js';
import { StructuredLogger } from '../common/structured-logger.js';

/**
 * The embedded default: tasks run in this process with bounded concurrency. A retry waits outside
 * the queue so backoff never holds a slot. Nothing here is the source of truth: a task lost with the
 * process is found again from its record at the next start.
 */
export class InProcessTransport implements TaskTransport {
  private readonly logger = new StructuredLogger(InProcessTransport.name);
  private readonly queue: PQueue;
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  /** Tasks per upload, from dispatch until they settle (a retry keeps its task). */
  private readonly held = new Map<string, number>();
  private handler?: StorageTaskHandler;
  /** Set once a drain has finished: nothing runs tasks any more. */
  private closed = false;
  private wakeDrain?: () => void;

  constructor(
    concurrency: number,
    private readonly retry: RetryPolicy,
  ) {
    this.queue = new PQueue({ concurrency });
  }

  process(handler: StorageTaskHandler): void {
    this.handler = handler;
  }

  async dispatch(task: StorageTask): Promise<void> {
    // Loud, not silent: the caller logs it and the record stays unsettled for the next start.
    if (this.closed) throw new Error(`storage work has shut down; upload ${task.uploadId} is stored at the next start`);
    this.held.set(task.uploadId, (this.held.get(task.uploadId) ?? 0) + 1);
    this.enqueue(task, 1);
  }

  async holds(uploadId: string): Promise<boolean> {
    return this.held.has(uploadId);
  }

  backlog(): number {
    return this.queue.size + this.queue.pending + this.retryTimers.size;
  }

  /**
   * Runs everything queued, including retries and tasks dispatched while draining, until nothing is
   * left or `timeoutMs` passes. Queued work is finished, not dropped: an upload accepted before
   * shutdown began must be stored (or failed) by the time shutdown returns.
   */
  async drain(timeoutMs: number): Promise<boolean> {
    const done = await pTimeout(this.idle(), { milliseconds: timeoutMs, fallback: () => false });
    this.closed = true;
    for (const retry of this.retryTimers) clearTimeout(retry);
    this.retryTimers.clear();
    this.queue.clear();
    this.held.clear();
    this.wakeDrain?.();
    return done;
  }

  /** Resolves once no task is queued, running or waiting for its retry. */
  private async idle(): Promise<true> {
    while (this.backlog() > 0 && !this.closed) {
      if (this.retryTimers.size > 0 && this.queue.size + this.queue.pending === 0) {
        await new Promise<void>((resolve) => (this.wakeDrain = resolve)); // woken by the next enqueue
        this.wakeDrain = undefined;
      } else {
        await this.queue.onIdle();
      }
    }
    return true;
  }

  private enqueue(task: StorageTask, attempt: number): void {
    if (this.closed) return;
    void this.queue.add(() => this.run(task, attempt));
    this.wakeDrain?.();
  }

  private async run(task: StorageTask, attempt: number): Promise<void> {
    if (!this.handler) throw new Error('InProcessTransport has no handler: no worker registered');
    try {
      await this.handler.run(task, attempt);
    } catch (err) {
      if (attempt < this.retry.attempts) {
        const timer = setTimeout(
          () => {
            this.retryTimers.delete(timer);
            this.enqueue(task, attempt + 1);
          },
          backoffDelay(this.retry, attempt),
        );
        this.retryTimers.add(timer);
        return;
      }
      // The handler records final failures itself; reaching here means it could not.
      this.logger.error({
        msg: 'storage task gave up',
        event: 'upload.task_abandoned',
        uploadId: task.uploadId,
        requestId: task.requestId,
        attempt,
        err,
      });
    }
    this.release(task.uploadId);
  }

  private release(uploadId: string): void {
    const left = (this.held.get(uploadId) ?? 1) - 1;
    if (left > 0) this.held.set(uploadId, left);
    else this.held.delete(uploadId);
  }
}
