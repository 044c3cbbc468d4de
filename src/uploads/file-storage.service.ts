import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { StorageError } from '../domain/errors/storage.error.js';
import { FileFailedEvent } from '../domain/events/file-failed.event.js';
import { FileReceivedEvent } from '../domain/events/file-received.event.js';
import { FileStoredEvent } from '../domain/events/file-stored.event.js';
import { UNSETTLED_STATUSES } from '../domain/upload-record.js';
import {
  UPLOAD_RECORD_REPOSITORY,
  type TransitionResult,
  type UploadRecordRepository,
} from '../records/upload-record-repository.interface.js';
import { StagingArea } from '../storage/staging-area.js';
import { STORAGE_BACKEND, type StorageBackend } from '../storage/storage-backend.interface.js';
import { TASK_TRANSPORT, type StorageTask, type TaskTransport } from '../tasks/task-transport.interface.js';
import { UploadEventsPublisher } from './events/upload-events.publisher.js';
import { RESOLVED_UPLOADS_OPTIONS } from './module/uploads.constants.js';
import type { ResolvedUploadsOptions } from './module/uploads.options.js';
import { StructuredLogger } from '../common/structured-logger.js';

/**
 * Moves staged bytes to their final place. `store()` is the one core step; the `file.received`
 * listener hands events to the task transport, which runs `process()` with bounded concurrency
 * and retries, in this process or in a worker.
 */
@Injectable()
export class FileStorageService implements OnModuleInit {
  private readonly logger = new StructuredLogger(FileStorageService.name);

  constructor(
    @Inject(UPLOAD_RECORD_REPOSITORY) private readonly records: UploadRecordRepository,
    @Inject(STORAGE_BACKEND) private readonly backend: StorageBackend,
    @Inject(TASK_TRANSPORT) private readonly transport: TaskTransport,
    @Inject(RESOLVED_UPLOADS_OPTIONS) private readonly options: ResolvedUploadsOptions,
    private readonly staging: StagingArea,
    private readonly events: UploadEventsPublisher,
  ) {}

  onModuleInit(): void {
    this.transport.process({
      run: (task, attempt) => this.process(task, attempt),
      giveUp: (task, reason, attempts) => this.fail(task, reason, attempts),
      finished: (task) => this.requeueIfPutBack(task),
    });
  }

  /**
   * Synchronous on purpose: the hand-off to the transport starts in the same turn as the event, so
   * an upload accepted before shutdown begins is already the transport's work when it drains. Only
   * this module's own uploads: another mount in the same app has its own storage.
   */
  @OnEvent(FileReceivedEvent.eventName)
  async onFileReceived(event: FileReceivedEvent): Promise<void> {
    if (!this.events.published(event)) return;
    try {
      await this.transport.dispatch(event);
    } catch (err) {
      // The record stays `received`: recovery at the next start hands it over again.
      this.logger.error({
        msg: 'could not queue storage work',
        event: 'upload.dispatch_failed',
        uploadId: event.uploadId,
        requestId: event.requestId,
        err,
      });
    }
  }

  /**
   * One attempt with its outcome handled: resolves when the upload is settled (stored, or failed
   * for good) and throws only to ask the transport for another attempt.
   */
  async process(task: StorageTask, attempt: number): Promise<void> {
    try {
      await this.store(task, attempt);
    } catch (err) {
      const error = await this.explain(task, StorageError.from(err, 'store'));
      const final = !error.transient || attempt >= this.options.retry.attempts;
      // An error line only for the outcome: an attempt that will be retried is a warning, so an
      // alert on errors fires once per failed upload, not for a blip that the next attempt outlives.
      this.logger[final ? 'error' : 'warn']({
        msg: final ? 'storing upload failed' : 'storing upload failed, will retry',
        event: 'upload.store_failed',
        uploadId: task.uploadId,
        requestId: task.requestId,
        filename: task.filename,
        attempt,
        maxAttempts: this.options.retry.attempts,
        final,
        errorCode: error.code,
        err: error,
      });
      if (!final) throw error;
      await this.fail(task, error, attempt);
    }
  }

  /** Idempotent: running it again after a crash at any point leaves exactly one verified copy. */
  async store(task: StorageTask, attempt = 1): Promise<void> {
    const current = await this.records.get(task.uploadId);
    if (!current || !UNSETTLED_STATUSES.includes(current.status)) return; // deleted, or already settled by an earlier run

    // The `processing` mark and the placing of the bytes run at once: nothing in one waits for the
    // other, and with DURABILITY=fsync the mark's commit can queue behind the record store's last
    // flush for about as long as the placing takes. The mark is not durable: a crash that loses it
    // leaves `received`, and recovery runs this again.
    const [started, placed] = await Promise.allSettled([
      this.records.transition(task.uploadId, UNSETTLED_STATUSES, { status: 'processing', attempts: attempt }, { durable: false }),
      this.place(task),
    ]);
    if (started.status === 'rejected') throw started.reason;
    if (!started.value.ok) return this.refused(task, started.value); // a failed placing included
    if (placed.status === 'rejected') throw placed.reason;
    const moved = placed.value;

    const stored = await this.records.transition(task.uploadId, ['processing'], {
      status: 'stored',
      storedAt: new Date().toISOString(),
      error: undefined,
    });
    if (!stored.ok) return this.refused(task, stored);
    if (!moved) await this.staging.discard(task.uploadId);
    this.logger.log({
      msg: 'upload stored',
      event: 'upload.stored',
      uploadId: task.uploadId,
      requestId: task.requestId,
      size: task.size,
      attempt,
    });
    this.events.publish(FileStoredEvent.fromRecord(stored.record));
  }

  /**
   * A transition refused while the bytes were being placed: the upload was settled by another run, or
   * deleted, and then the bytes just placed must not be left behind.
   */
  private async refused(task: StorageTask, result: Extract<TransitionResult, { ok: false }>): Promise<void> {
    if (!result.current) await this.backend.delete(task.uploadId);
  }

  /**
   * Moves the staged file into the backend when it can (same filesystem), else copies it.
   * Resolves whether it was moved, i.e. no staged copy is left to discard.
   */
  private async place(task: StorageTask): Promise<boolean> {
    const expected = { size: task.size, sha256: task.sha256, contentType: task.mimeType };
    if (await this.backend.adopt?.(task.uploadId, this.staging.pathOf(task.uploadId), expected)) return true;
    await this.backend.put(task.uploadId, this.staging.open(task.uploadId), expected);
    return false;
  }

  /**
   * A missing source on an unsettled upload whose bytes are not in the backend either means this
   * process looks at another disk than the one that staged it: say so, and fail at once.
   */
  private async explain(task: StorageTask, error: StorageError): Promise<StorageError> {
    if (error.code !== 'NOT_FOUND' || (await this.staging.visible(task.uploadId))) return error;
    if ((await this.backend.stat(task.uploadId))?.size === task.size) return error;
    const path = this.staging.pathOf(task.uploadId);
    const hint = this.options.transport === 'bullmq' ? '; the storage root must be one volume shared by every API and worker process' : '';
    this.logger.error({
      msg: `staged bytes not found${hint}`,
      event: 'upload.staging_unreachable',
      uploadId: task.uploadId,
      requestId: task.requestId,
      stagingPath: path,
    });
    return new StorageError(
      'STAGING_UNREACHABLE',
      `Staged bytes not found at ${path} by process ${process.pid}${hint ? '; is the storage root shared?' : ''}`,
      { cause: error },
    );
  }

  /**
   * Settles an upload as failed for good; a no-op when it is already settled or gone. Also the
   * transport's way to settle a task it gave up on outside `process` (its worker kept dying).
   */
  async fail(task: StorageTask, error: StorageError, attempt: number): Promise<void> {
    const failed = await this.records.transition(task.uploadId, UNSETTLED_STATUSES, {
      status: 'failed',
      failedAt: new Date().toISOString(),
      attempts: attempt,
      error: { code: error.code, message: error.message },
    });
    if (failed.ok) this.events.publish(FileFailedEvent.fromRecord(failed.record));
  }

  /** An upload put back to `received` while its task was running (a retry) gets a task again. */
  private async requeueIfPutBack(task: StorageTask): Promise<void> {
    const record = await this.records.get(task.uploadId);
    if (record?.status === 'received') await this.transport.dispatch(FileReceivedEvent.fromRecord(record));
  }
}
