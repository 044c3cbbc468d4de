import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { UPLOAD_RECORD_REPOSITORY, type UploadRecordRepository } from '../records/upload-record-repository.interface.js';
import { StagingArea } from '../storage/staging-area.js';
import { TASK_TRANSPORT, type TaskTransport } from '../tasks/task-transport.interface.js';
import { FileReceivedEvent } from './file-received.event.js';
import { UNSETTLED_STATUSES } from './upload-record.js';

/**
 * Finishes what a previous process left: every acknowledged upload still `received` or `processing`
 * goes back to the storage work, and staged bytes that never got a record (the process died before
 * the 202) are removed.
 */
@Injectable()
export class UploadRecoveryService implements OnApplicationBootstrap {
  private readonly logger = new Logger(UploadRecoveryService.name);

  constructor(
    @Inject(UPLOAD_RECORD_REPOSITORY) private readonly records: UploadRecordRepository,
    @Inject(TASK_TRANSPORT) private readonly transport: TaskTransport,
    private readonly staging: StagingArea,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const startedAt = Date.now();
    const unsettled = await this.records.findByStatus(UNSETTLED_STATUSES);
    for (const record of unsettled) await this.transport.dispatch(FileReceivedEvent.fromRecord(record));

    // Only files older than this start can be leftovers; newer ones may be uploads in progress.
    // A failed upload keeps its staged bytes so it can be retried.
    let orphans = 0;
    for (const { id, mtimeMs } of await this.staging.list()) {
      if (mtimeMs >= startedAt) continue;
      const record = await this.records.get(id);
      // Stored means the copy is done and only the cleanup was lost; no record means no 202 was sent.
      if (!record || record.status === 'stored') {
        await this.staging.discard(id);
        orphans += 1;
      }
    }
    if (unsettled.length > 0 || orphans > 0) {
      this.logger.log({ msg: 'recovered uploads left by a previous run', event: 'upload.recovered', requeued: unsettled.length, orphansRemoved: orphans });
    }
  }
}
