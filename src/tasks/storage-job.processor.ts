import { readdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import type { Job } from 'bullmq';
import type { UploadRecordRepository } from '../records/upload-record-repository.interface.js';
import { StagingArea } from '../storage/staging-area.js';
import { StorageError } from '../storage/storage.error.js';
import { FileReceivedEvent } from '../uploads/file-received.event.js';
import { FileStorageService } from '../uploads/file-storage.service.js';
import { UNSETTLED_STATUSES } from '../uploads/upload-record.js';
import type { ResolvedUploadsOptions } from '../uploads/uploads.options.js';
import { BullMqTransport } from './bullmq.transport.js';
import { backoffDelay } from './retry-policy.js';
import { fromJobData, type StorageJobData, UPLOADS_QUEUE } from './storage-job.js';

/**
 * The worker side of the `bullmq` transport: BullMQ calls `process` for each storage job, which runs
 * `FileStorageService.process` and rethrows what it rethrows, so BullMQ retries with the module's
 * backoff. Made by {@link createStorageJobProcessor}, which decorates it with the worker options.
 */
export class StorageJobProcessor extends WorkerHost implements OnApplicationBootstrap {
  private readonly logger = new Logger(StorageJobProcessor.name);

  constructor(
    private readonly storage: FileStorageService,
    private readonly staging: StagingArea,
    private readonly records: UploadRecordRepository,
    private readonly transport: BullMqTransport,
  ) {
    super();
  }

  /** Starts taking jobs only once the whole app is up. */
  onApplicationBootstrap(): void {
    this.transport.attach(this.worker);
    this.worker.run().catch((err: unknown) => this.logger.error({ msg: 'storage worker stopped', event: 'upload.worker_stopped', err }));
  }

  async process(job: Job<StorageJobData>): Promise<void> {
    const event = fromJobData(job.data);
    // attemptsMade counts failed attempts only: a job taken over from a dead worker keeps its number.
    const attempt = job.attemptsMade + 1;
    if (await this.stagingUnreachable(event, attempt)) return;
    await this.storage.process(event, attempt);
  }

  /**
   * An unsettled upload has its staged bytes, unless an earlier attempt already moved them into the
   * backend (`process()` then finishes it). A worker that sees neither is looking at another disk: fail the upload with a code that says so, at
   * the first job, instead of retrying something that cannot work.
   */
  private async stagingUnreachable(event: FileReceivedEvent, attempt: number): Promise<boolean> {
    if (await this.staging.exists(event.uploadId)) return false;
    // A network file system may cache "no such file" for a while; listing the directory revalidates it.
    if ((await readdir(this.staging.dir)).includes(event.uploadId)) return false;
    if (await this.storage.placed(event)) return false;
    const record = await this.records.get(event.uploadId);
    if (!record || !UNSETTLED_STATUSES.includes(record.status)) return false; // gone or settled: process() no-ops
    const path = this.staging.pathOf(event.uploadId);
    this.logger.error({
      msg: 'this worker cannot see the staged bytes: the storage root must be one volume shared by every API and worker process',
      event: 'upload.staging_unreachable',
      uploadId: event.uploadId,
      requestId: event.requestId,
      attempt,
      stagingPath: path,
      errorCode: 'STAGING_UNREACHABLE',
    });
    const error = new StorageError('STAGING_UNREACHABLE', `Staged bytes not found at ${path} by worker ${workerName()}; is the storage root shared?`, false);
    await this.storage.fail(event, error, attempt);
    return true;
  }

  /** BullMQ gave up (attempts used, or stalled too often): the record must not stay unsettled. */
  @OnWorkerEvent('failed')
  async onFailed(job: Job<StorageJobData> | undefined, err: Error): Promise<void> {
    if (!job?.finishedOn) return; // a retry is scheduled
    try {
      const event = fromJobData(job.data);
      const stalled = /stalled/i.test(err.message);
      const error = stalled ? new StorageError('STALLED', err.message, false) : StorageError.fromFs(err, 'store');
      this.logger.error({ msg: 'storage job gave up', event: 'upload.job_failed', uploadId: event.uploadId, requestId: event.requestId, attempt: job.attemptsMade, errorCode: error.code, err });
      await this.storage.fail(event, error, Math.max(1, job.attemptsMade));
    } catch (failure) {
      this.logger.error({ msg: 'could not record a given-up storage job', event: 'upload.task_abandoned', uploadId: job.id, requestId: job.data?.requestId, err: failure });
    }
  }

  /** A retry that raced this job's run was swallowed by the job-id dedupe; queue it again now. */
  @OnWorkerEvent('completed')
  async onCompleted(job: Job<StorageJobData>): Promise<void> {
    try {
      const record = await this.records.get(job.data.uploadId);
      if (record?.status === 'received') await this.transport.dispatch(FileReceivedEvent.fromRecord(record));
    } catch (err) {
      this.logger.error({ msg: 'could not re-queue an upload put back during its run', event: 'upload.dispatch_failed', uploadId: job.data.uploadId, requestId: job.data.requestId, err });
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
}

function workerName(): string {
  return `${hostname()}:${process.pid}`;
}

/**
 * `@Processor` options are static metadata, but concurrency, locks and backoff come from the
 * module's options: a subclass per module instance carries them.
 */
export function createStorageJobProcessor(
  options: ResolvedUploadsOptions,
  storage: FileStorageService,
  staging: StagingArea,
  records: UploadRecordRepository,
  transport: BullMqTransport,
): StorageJobProcessor {
  class ConfiguredStorageJobProcessor extends StorageJobProcessor {}
  Processor(UPLOADS_QUEUE, {
    name: workerName(),
    autorun: false,
    concurrency: options.storageConcurrency,
    lockDuration: options.queue.lockDurationMs,
    stalledInterval: options.queue.stalledIntervalMs,
    settings: {
      backoffStrategy: (attemptsMade: number) => backoffDelay(options.retry, attemptsMade),
    },
  })(ConfiguredStorageJobProcessor);
  return new ConfiguredStorageJobProcessor(storage, staging, records, transport);
}
