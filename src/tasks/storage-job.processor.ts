import { hostname } from 'node:os';
import { type OnApplicationBootstrap } from '@nestjs/common';
import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { type Job, UnrecoverableError } from 'bullmq';
import { StorageError } from '../domain/errors/storage.error.js';
import type { BullMqTransport } from './bullmq.transport.js';
import { backoffDelay, type RetryPolicy } from './retry-policy.js';
import { fromJobData, type StorageJobData, UPLOADS_QUEUE } from './storage-job.js';
import type { StorageTask } from './task-transport.interface.js';
import { StructuredLogger } from '../common/structured-logger.js';

/** What a worker is told by the module's options. */
export interface StorageWorkerOptions {
  concurrency: number;
  lockDurationMs: number;
  stalledIntervalMs: number;
  retry: RetryPolicy;
}

/**
 * The worker side of the `bullmq` transport: BullMQ calls `process` for each storage job, which runs
 * the storage work registered with the transport and rethrows what it rethrows, so BullMQ retries
 * with the module's backoff. Made by {@link createStorageJobProcessor}, which decorates it with the
 * worker options.
 */
export class StorageJobProcessor extends WorkerHost implements OnApplicationBootstrap {
  private readonly logger = new StructuredLogger(StorageJobProcessor.name);

  constructor(private readonly transport: BullMqTransport) {
    super();
  }

  /** Starts taking jobs only once the whole app is up. */
  onApplicationBootstrap(): void {
    this.transport.attach(this.worker);
    this.worker.run().catch((err: unknown) => this.logger.error({ msg: 'storage worker stopped', event: 'upload.worker_stopped', err }));
  }

  async process(job: Job<StorageJobData>): Promise<void> {
    // attemptsMade counts failed attempts only: a job taken over from a dead worker keeps its number.
    await this.transport.work.run(this.taskOf(job), job.attemptsMade + 1);
  }

  /** BullMQ gave up (the job stalled too often): the record must not stay unsettled. */
  @OnWorkerEvent('failed')
  async onFailed(job: Job<StorageJobData> | undefined, err: Error): Promise<void> {
    if (!job?.finishedOn || err instanceof UnrecoverableError) return; // a retry is scheduled, or nothing to settle
    try {
      const error = /stalled/i.test(err.message) ? new StorageError('STALLED', err.message) : StorageError.from(err, 'store');
      this.logger.error({
        msg: 'storage job gave up',
        event: 'upload.job_failed',
        uploadId: job.id,
        requestId: job.data?.requestId,
        attempt: job.attemptsMade,
        errorCode: error.code,
        err,
      });
      await this.transport.work.giveUp(this.taskOf(job), error, Math.max(1, job.attemptsMade));
    } catch (failure) {
      this.logger.error({
        msg: 'could not record a given-up storage job',
        event: 'upload.task_abandoned',
        uploadId: job.id,
        requestId: job.data?.requestId,
        err: failure,
      });
    }
  }

  /** A retry that raced this job's run was swallowed by the job-id dedupe: the work queues it again. */
  @OnWorkerEvent('completed')
  async onCompleted(job: Job<StorageJobData>): Promise<void> {
    try {
      await this.transport.work.finished(this.taskOf(job));
    } catch (err) {
      this.logger.error({
        msg: 'could not re-queue an upload put back during its run',
        event: 'upload.dispatch_failed',
        uploadId: job.id,
        requestId: job.data?.requestId,
        err,
      });
    }
  }

  @OnWorkerEvent('stalled')
  onStalled(jobId: string): void {
    this.logger.warn({ msg: 'storage job lost its worker; it runs again', event: 'upload.job_stalled', uploadId: jobId });
  }

  @OnWorkerEvent('error')
  onError(err: Error): void {
    this.logger.error({ msg: 'storage worker error', event: 'upload.queue_error', err });
  }

  /** A job whose data cannot be read will never work: BullMQ must not retry it. */
  private taskOf(job: Job<StorageJobData>): StorageTask {
    try {
      return fromJobData(job.data);
    } catch (err) {
      throw new UnrecoverableError((err as Error).message);
    }
  }
}

/** This worker's name in BullMQ and in log lines. */
export function workerName(): string {
  return `${hostname()}:${process.pid}`;
}

/**
 * `@Processor` options are static metadata, but concurrency, locks and backoff come from the
 * module's options: a subclass per module instance carries them.
 */
export function createStorageJobProcessor(options: StorageWorkerOptions, transport: BullMqTransport): StorageJobProcessor {
  class ConfiguredStorageJobProcessor extends StorageJobProcessor {}
  Processor(UPLOADS_QUEUE, {
    name: workerName(),
    autorun: false,
    concurrency: options.concurrency,
    lockDuration: options.lockDurationMs,
    stalledInterval: options.stalledIntervalMs,
    settings: {
      backoffStrategy: (attemptsMade: number) => backoffDelay(options.retry, attemptsMade),
    },
  })(ConfiguredStorageJobProcessor);
  return new ConfiguredStorageJobProcessor(transport);
}
