import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { FileReceivedEvent } from '../../domain/events/file-received.event.js';
import { uploadIdFloor } from '../../domain/upload-id.js';
import { UNSETTLED_STATUSES, type UploadRecord } from '../../domain/upload-record.js';
import { UPLOAD_RECORD_REPOSITORY, type UploadRecordRepository } from '../../records/upload-record-repository.interface.js';
import { TASK_TRANSPORT, type TaskTransport } from '../../tasks/task-transport.interface.js';
import { RESOLVED_UPLOADS_OPTIONS } from '../module/uploads.constants.js';
import type { ResolvedUploadsOptions } from '../module/uploads.options.js';
import { StructuredLogger } from '../../common/structured-logger.js';

/** Records read per repository call. */
const PAGE = 256;

/**
 * Hands storage work to the transport again for acknowledged uploads that have none: an upload
 * whose record was written but whose task never reached the queue (Redis went away between the two,
 * after the 202) would otherwise wait for the next start. Every `redriveAfterMs / 2` it looks at
 * unsettled uploads untouched for `redriveAfterMs` and queues the ones no task holds. Queueing twice
 * is harmless (job ids are upload ids, and storing is idempotent), so API processes need not agree
 * on who does it.
 */
@Injectable()
export class UploadRedriver implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new StructuredLogger(UploadRedriver.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;

  constructor(
    @Inject(UPLOAD_RECORD_REPOSITORY) private readonly records: UploadRecordRepository,
    @Inject(TASK_TRANSPORT) private readonly transport: TaskTransport,
    @Inject(RESOLVED_UPLOADS_OPTIONS) private readonly options: ResolvedUploadsOptions,
  ) {}

  onApplicationBootstrap(): void {
    if (this.options.role === 'worker') return; // queueing is the API side's job
    this.timer = setInterval(() => void this.redriveQuietly(), Math.max(500, this.options.redriveAfterMs / 2));
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  private async redriveQuietly(): Promise<void> {
    try {
      await this.redrive();
    } catch (err) {
      // The store or the queue is unreachable: the next round tries again.
      this.logger.warn({ msg: 'could not look for uploads without storage work', event: 'upload.redrive_failed', err });
    }
  }

  /** One round; concurrent callers share it. Resolves how many uploads were queued again. */
  redrive(): Promise<number> {
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  private async run(): Promise<number> {
    const cutoff = Date.now() - this.options.redriveAfterMs;
    let redriven = 0;
    for (const status of UNSETTLED_STATUSES) {
      // Created before the cutoff: older ids only, a page at a time.
      let before = uploadIdFloor(cutoff);
      for (;;) {
        const page = await this.records.list({ status, limit: PAGE, before });
        for (const record of page) if (await this.redriveOne(record, cutoff)) redriven += 1;
        if (page.length < PAGE) break;
        before = page[page.length - 1].id;
      }
    }
    return redriven;
  }

  private async redriveOne(record: UploadRecord, cutoff: number): Promise<boolean> {
    if (Date.parse(record.updatedAt) >= cutoff || (await this.transport.holds(record.id))) return false;
    await this.transport.dispatch(FileReceivedEvent.fromRecord(record));
    this.logger.warn({
      msg: 'acknowledged upload had no storage work; queued it again',
      event: 'upload.redriven',
      uploadId: record.id,
      requestId: record.requestId,
      status: record.status,
      idleMs: Date.now() - Date.parse(record.updatedAt),
    });
    return true;
  }
}
