import { Logger } from '@nestjs/common';
import { OnQueueEvent, QueueEventsHost, QueueEventsListener } from '@nestjs/bullmq';
import { UploadStatusService } from '../uploads/upload-status.service.js';
import { UploadsService } from '../uploads/uploads.service.js';
import type { BullMqTransport } from './bullmq.transport.js';
import { UPLOADS_QUEUE } from './storage-job.js';

/**
 * Storage happens in whichever worker took the job, so `file.stored`/`file.failed` fire there, not
 * here. Queue events (a Redis stream every process can read) tell this process's status watchers
 * and `waitUntilSettled` callers to read the record again. Job ids are upload ids.
 */
@QueueEventsListener(UPLOADS_QUEUE)
export class StorageQueueEvents extends QueueEventsHost {
  private readonly logger = new Logger(StorageQueueEvents.name);

  constructor(
    private readonly uploads: UploadsService,
    private readonly status: UploadStatusService,
    private readonly transport: BullMqTransport,
  ) {
    super();
  }

  @OnQueueEvent('active')
  onActive({ jobId }: { jobId: string }): void {
    this.status.recordChanged(jobId);
  }

  @OnQueueEvent('completed')
  onCompleted({ jobId }: { jobId: string }): void {
    this.transport.settled(jobId);
    this.settled(jobId);
  }

  @OnQueueEvent('failed')
  onFailed({ jobId }: { jobId: string }): void {
    this.settled(jobId);
  }

  @OnQueueEvent('error')
  onError(err: Error): void {
    this.logger.error({ msg: 'storage queue events connection error', event: 'upload.queue_error', err });
  }

  private settled(uploadId: string): void {
    this.status.recordChanged(uploadId);
    this.uploads.recheckSettled(uploadId);
  }
}
