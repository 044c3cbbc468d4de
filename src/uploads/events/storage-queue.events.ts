import { OnQueueEvent, QueueEventsHost, QueueEventsListener } from '@nestjs/bullmq';
import type { BullMqTransport } from '../../tasks/bullmq.transport.js';
import { UPLOADS_QUEUE } from '../../tasks/storage-job.js';
import type { UploadStatusService } from '../upload-status.service.js';
import { StructuredLogger } from '../../common/structured-logger.js';

/**
 * Storage happens in whichever worker took the job, so `file.stored`/`file.failed` fire there, not
 * here. Queue events (a Redis stream every process can read) tell this process's status watchers
 * (and so `waitUntilSettled` callers) to read the record again, and its transport which of the jobs
 * it queued are done. Job ids are upload ids.
 */
@QueueEventsListener(UPLOADS_QUEUE)
export class StorageQueueEvents extends QueueEventsHost {
  private readonly logger = new StructuredLogger(StorageQueueEvents.name);

  constructor(
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
    this.status.recordChanged(jobId);
  }

  @OnQueueEvent('failed')
  onFailed({ jobId }: { jobId: string }): void {
    this.status.recordChanged(jobId);
  }

  @OnQueueEvent('error')
  onError(err: Error): void {
    this.logger.error({ msg: 'storage queue events connection error', event: 'upload.queue_error', err });
  }
}
