import type { Queue, Worker } from 'bullmq';
import pTimeout from 'p-timeout';
import type { RetryPolicy } from './retry-policy.js';
import { STORAGE_BACKOFF, STORE_JOB, toJobData } from './storage-job.js';
import type { StorageTask, StorageTaskHandler, TaskTransport } from './task-transport.interface.js';
import { StructuredLogger } from '../common/structured-logger.js';

/** How long a queue-wide backlog count is reused: `backlog()` sits on the upload hot path. */
const BACKLOG_TTL_MS = 1_000;

/**
 * Storage work as BullMQ jobs in Redis, worked by every process with a worker role (its
 * `StorageJobProcessor` runs the handler registered here). The job id is the upload id, so queueing
 * an upload again while its job is pending (recovery at start, a retry racing a worker) is a no-op
 * in Redis rather than a second job. Finished jobs are removed: the record is the lasting outcome,
 * and a later retry of the upload must be able to queue it again.
 */
export class BullMqTransport implements TaskTransport {
  private readonly logger = new StructuredLogger(BullMqTransport.name);
  private handler?: StorageTaskHandler;
  private worker?: Worker;
  private counted = { value: 0, at: 0 };
  private counting?: Promise<void>;
  /** `queue.add` calls not answered yet: shutdown waits for them, so no accepted upload is left unqueued. */
  private readonly adding = new Set<Promise<unknown>>();
  /** Jobs this process queued whose outcome it has not seen; with a worker here, shutdown lets them finish. */
  private readonly unsettled = new Set<string>();

  constructor(
    private readonly queue: Queue,
    private readonly retry: RetryPolicy,
  ) {
    queue.on('error', (err) => this.logger.error({ msg: 'storage queue connection error', event: 'upload.queue_error', err }));
  }

  process(handler: StorageTaskHandler): void {
    this.handler = handler;
  }

  /** The registered storage work, for this process's worker. */
  get work(): StorageTaskHandler {
    if (!this.handler) throw new Error('BullMqTransport has no handler: no storage work registered');
    return this.handler;
  }

  /** Attaches this process's worker, so shutdown can drain it. */
  attach(worker: Worker): void {
    this.worker = worker;
    worker.on('completed', (job) => this.settled(job.id!));
    worker.on('failed', (job) => {
      if (job?.finishedOn) this.settled(job.id!); // given up for good, not waiting for a retry
    });
  }

  async dispatch(task: StorageTask): Promise<void> {
    const adding = this.queue.add(STORE_JOB, toJobData(task), {
      jobId: task.uploadId,
      attempts: this.retry.attempts,
      backoff: { type: STORAGE_BACKOFF },
      removeOnComplete: true,
      removeOnFail: true,
    });
    this.adding.add(adding);
    try {
      await adding;
      this.unsettled.add(task.uploadId);
    } finally {
      this.adding.delete(adding);
    }
  }

  /** Finished jobs are removed, so a job that is still there is waiting, delayed for a retry or running. */
  async holds(uploadId: string): Promise<boolean> {
    return (await this.queue.getJob(uploadId)) !== undefined;
  }

  /**
   * A job left the queue, whichever worker ran it (told by this process's worker and by queue
   * events). Failures seen only through queue events are pruned at drain, by a lookup.
   */
  settled(uploadId: string): void {
    this.unsettled.delete(uploadId);
  }

  /**
   * Jobs waiting, delayed for a retry or running, across the whole queue (every API and worker
   * process sees the same figure). Refreshed in the background at most once a second.
   */
  backlog(): number {
    if (Date.now() - this.counted.at > BACKLOG_TTL_MS) this.counting ??= this.count();
    return this.counted.value;
  }

  /**
   * Waits for pending `queue.add` calls and, with a worker in this process, for the jobs this
   * process queued; then stops fetching jobs and waits for running ones. What is still running at
   * the deadline is left active in Redis: its lock expires and another worker takes the job over.
   */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    const worker = this.worker;
    let finished = await beforeDeadline(
      Promise.allSettled(this.adding).then(() => true),
      deadline,
    );
    if (worker && finished) finished = await beforeDeadline(this.ownJobsSettled(deadline), deadline);
    if (worker && finished)
      finished = await beforeDeadline(
        worker.pause().then(() => true),
        deadline,
      );
    if (worker && !finished) await worker.close(true);
    return finished;
  }

  /**
   * With a worker in this process (role `all`), the jobs this process queued are stored before it
   * leaves, as with the memory transport. Queue events prune the set as jobs finish; what they may
   * have missed is looked up in Redis (finished jobs are removed).
   */
  private async ownJobsSettled(deadline: number): Promise<boolean> {
    while (this.unsettled.size > 0 && Date.now() < deadline) {
      for (const id of [...this.unsettled]) {
        if (!(await this.queue.getJob(id))) this.unsettled.delete(id);
      }
      if (this.unsettled.size > 0) await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return this.unsettled.size === 0;
  }

  private async count(): Promise<void> {
    try {
      const counts = await this.queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active');
      this.counted = { value: Object.values(counts).reduce((sum, n) => sum + n, 0), at: Date.now() };
    } catch (err) {
      // Keep the last figure; the connection error is logged by the queue's error handler.
      this.counted = { ...this.counted, at: Date.now() };
      this.logger.warn({ msg: 'could not count the storage queue', event: 'upload.queue_count_failed', err });
    } finally {
      this.counting = undefined;
    }
  }
}

/** `work`'s result, or false once `deadline` (epoch ms) has passed. */
function beforeDeadline(work: Promise<boolean>, deadline: number): Promise<boolean> {
  return pTimeout(work, { milliseconds: Math.max(0, deadline - Date.now()), fallback: () => false });
}
