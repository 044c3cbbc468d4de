import { Logger } from '@nestjs/common';
import PQueue from 'p-queue';
import type { FileReceivedEvent } from '../uploads/file-received.event.js';
import { backoffDelay, type RetryPolicy } from './retry-policy.js';
import type { StorageTaskHandler, TaskTransport } from './task-transport.interface.js';

/**
 * The embedded default: tasks run in this process with bounded concurrency. A retry waits outside
 * the queue so backoff never holds a slot. Nothing here is the source of truth: a task lost with the
 * process is found again from its record at the next start.
 */
export class InProcessTransport implements TaskTransport {
  private readonly logger = new Logger(InProcessTransport.name);
  private readonly queue: PQueue;
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private handler?: StorageTaskHandler;
  private closed = false;

  constructor(
    concurrency: number,
    private readonly retry: RetryPolicy,
  ) {
    this.queue = new PQueue({ concurrency });
  }

  process(handler: StorageTaskHandler): void {
    this.handler = handler;
  }

  async dispatch(task: FileReceivedEvent): Promise<void> {
    this.enqueue(task, 1);
  }

  backlog(): number {
    return this.queue.size + this.queue.pending + this.retryTimers.size;
  }

  async drain(timeoutMs: number): Promise<boolean> {
    this.closed = true;
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
    this.queue.clear();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const idle = this.queue.onIdle().then(() => true);
    const done = await Promise.race([idle, timedOut]);
    clearTimeout(timer);
    return done;
  }

  private enqueue(task: FileReceivedEvent, attempt: number): void {
    if (this.closed) return;
    void this.queue.add(() => this.run(task, attempt));
  }

  private async run(task: FileReceivedEvent, attempt: number): Promise<void> {
    if (!this.handler) throw new Error('InProcessTransport has no handler: no worker registered');
    try {
      await this.handler(task, attempt);
    } catch (err) {
      if (attempt >= this.retry.attempts) {
        // The handler records final failures itself; reaching here means it could not.
        this.logger.error({ msg: 'storage task gave up', event: 'upload.task_abandoned', uploadId: task.uploadId, requestId: task.requestId, attempt, err });
        return;
      }
      const timer = setTimeout(() => {
        this.retryTimers.delete(timer);
        this.enqueue(task, attempt + 1);
      }, backoffDelay(this.retry, attempt));
      this.retryTimers.add(timer);
    }
  }
}
