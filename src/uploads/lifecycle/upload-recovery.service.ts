import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { UPLOAD_RECORD_REPOSITORY, type UploadRecordRepository } from '../../records/upload-record-repository.interface.js';
import { StagingArea } from '../../storage/staging-area.js';
import { STORAGE_BACKEND, type StorageBackend } from '../../storage/storage-backend.interface.js';
import { TASK_TRANSPORT, type TaskTransport } from '../../tasks/task-transport.interface.js';
import { FileReceivedEvent } from '../../domain/events/file-received.event.js';
import { UNSETTLED_STATUSES, type UploadRecord } from '../../domain/upload-record.js';
import { RESOLVED_UPLOADS_OPTIONS } from '../module/uploads.constants.js';
import type { ResolvedUploadsOptions } from '../module/uploads.options.js';
import { StructuredLogger } from '../../common/structured-logger.js';

/**
 * Finishes what a previous process left: every acknowledged upload still `received` or `processing`
 * goes back to the storage work, and staged bytes that never got a record (the process died before
 * the 202) are removed.
 *
 * With the `bullmq` transport the jobs live in Redis and outlive any process: a dead worker's jobs
 * go to another worker without help. What can still be lost is the queueing itself (an API process
 * that died between the record and the job), so API processes requeue unsettled records at start;
 * the job id is the upload id, so a job still pending is not duplicated. Workers skip recovery, and
 * nobody sweeps the shared staging area at start: another process may be receiving into it (the
 * reconciler's stale sweep removes real leftovers). With staging local to each node (`staging:
 * 'local'`), a node requeues only the uploads whose staged bytes it holds, into its own queue.
 */
@Injectable()
export class UploadRecoveryService implements OnApplicationBootstrap {
  private readonly logger = new StructuredLogger(UploadRecoveryService.name);

  constructor(
    @Inject(UPLOAD_RECORD_REPOSITORY) private readonly records: UploadRecordRepository,
    @Inject(TASK_TRANSPORT) private readonly transport: TaskTransport,
    @Inject(STORAGE_BACKEND) private readonly backend: StorageBackend,
    private readonly staging: StagingArea,
    @Inject(RESOLVED_UPLOADS_OPTIONS) private readonly options: ResolvedUploadsOptions,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.options.role === 'worker') return;
    const startedAt = Date.now();
    // Alone on this root (no queue workers): every temp of an interrupted save is a leftover. Swept
    // before the saves restart so none of theirs is taken for one.
    const incomplete = this.options.transport === 'memory' ? ((await this.backend.sweepIncomplete?.(startedAt)) ?? 0) : 0;
    const unsettled = await this.mine(await this.records.findByStatus(UNSETTLED_STATUSES));
    for (const record of unsettled) await this.transport.dispatch(FileReceivedEvent.fromRecord(record));
    if (this.options.transport === 'bullmq') {
      if (unsettled.length > 0)
        this.logger.log({ msg: 'requeued unsettled uploads', event: 'upload.recovered', requeued: unsettled.length, orphansRemoved: 0 });
      return;
    }

    // Only files older than this start can be leftovers; newer ones may be uploads in progress.
    // A failed upload keeps its staged bytes so it can be retried.
    let orphans = 0;
    for (const { id, mtimeMs } of await this.staging.list()) {
      if (mtimeMs >= startedAt) continue;
      const record = await this.records.get(id);
      // No record means no 202 was sent. Stored with the bytes in place means only the clean-up was
      // lost; stored without them (a power loss undid the move) leaves the reconciler to move them again.
      if (!record || (record.status === 'stored' && (await this.backend.stat(id))?.size === record.size)) {
        await this.staging.discard(id);
        orphans += 1;
      }
    }
    if (unsettled.length > 0 || orphans > 0 || incomplete > 0) {
      this.logger.log({
        msg: 'recovered uploads left by a previous run',
        event: 'upload.recovered',
        requeued: unsettled.length,
        orphansRemoved: orphans,
        incompleteRemoved: incomplete,
      });
    }
  }

  /**
   * The records this process can store: all of them, unless staging is local to each node, where
   * only the node holding an upload's staged bytes can (the others' uploads are in their queues).
   */
  private async mine(records: UploadRecord[]): Promise<UploadRecord[]> {
    if (this.options.staging !== 'local') return records;
    const here = await Promise.all(records.map((record) => this.staging.exists(record.id)));
    return records.filter((_, i) => here[i]);
  }
}
