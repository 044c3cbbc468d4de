import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { UPLOAD_RECORD_REPOSITORY, type UploadRecordRepository } from '../records/upload-record-repository.interface.js';
import { StagingArea } from '../storage/staging-area.js';
import { STORAGE_BACKEND, type StorageBackend } from '../storage/storage-backend.interface.js';
import { StorageError } from '../storage/storage.error.js';
import { TASK_TRANSPORT, type TaskTransport } from '../tasks/task-transport.interface.js';
import { FileFailedEvent } from './file-failed.event.js';
import { FileReceivedEvent } from './file-received.event.js';
import { FileStoredEvent } from './file-stored.event.js';
import { UploadEventsPublisher } from './upload-events.publisher.js';
import { RESOLVED_UPLOADS_OPTIONS } from './uploads.constants.js';
import type { ResolvedUploadsOptions } from './uploads.options.js';

/**
 * Moves staged bytes to their final place. `store()` is the one core step; the `file.received`
 * listener hands events to the task transport, which calls `process()` with bounded concurrency
 * and retries, in this process or in a worker.
 */
@Injectable()
export class FileStorageService implements OnModuleInit {
  private readonly logger = new Logger(FileStorageService.name);

  constructor(
    @Inject(UPLOAD_RECORD_REPOSITORY) private readonly records: UploadRecordRepository,
    @Inject(STORAGE_BACKEND) private readonly backend: StorageBackend,
    @Inject(TASK_TRANSPORT) private readonly transport: TaskTransport,
    @Inject(RESOLVED_UPLOADS_OPTIONS) private readonly options: ResolvedUploadsOptions,
    private readonly staging: StagingArea,
    private readonly events: UploadEventsPublisher,
  ) {}

  onModuleInit(): void {
    this.transport.process((task, attempt) => this.process(task, attempt));
  }

  /**
   * Synchronous on purpose: the hand-off to the transport starts in the same turn as the event, so an
   * upload accepted before shutdown begins is already the transport's work when it drains.
   */
  @OnEvent(FileReceivedEvent.eventName)
  async onFileReceived(event: FileReceivedEvent): Promise<void> {
    try {
      await this.transport.dispatch(event);
    } catch (err) {
      // The record stays `received`: recovery at the next start hands it over again.
      this.logger.error({ msg: 'could not queue storage work', event: 'upload.dispatch_failed', uploadId: event.uploadId, requestId: event.requestId, err });
    }
  }

  /**
   * One attempt with its outcome handled: resolves when the upload is settled (stored, or failed
   * for good) and throws only to ask the transport for another attempt.
   */
  async process(event: FileReceivedEvent, attempt: number): Promise<void> {
    try {
      await this.store(event, attempt);
    } catch (err) {
      const error = StorageError.fromFs(err, 'store');
      const final = !error.transient || attempt >= this.options.retry.attempts;
      this.logger.error({
        msg: final ? 'storing upload failed' : 'storing upload failed, will retry',
        event: 'upload.store_failed',
        uploadId: event.uploadId,
        requestId: event.requestId,
        filename: event.filename,
        attempt,
        maxAttempts: this.options.retry.attempts,
        final,
        errorCode: error.code,
        err: error,
      });
      if (!final) throw error;
      await this.fail(event, error, attempt);
    }
  }

  /** Idempotent: running it again after a crash at any point leaves exactly one verified copy. */
  async store(event: FileReceivedEvent, attempt = 1): Promise<void> {
    // Not durable: a crash that loses it leaves `received`, and recovery runs this again.
    const started = await this.records.transition(event.uploadId, ['received', 'processing'], { status: 'processing', attempts: attempt }, { durable: false });
    if (!started.ok) return; // deleted, or already settled by an earlier run

    const moved = await this.place(event);

    const stored = await this.records.transition(event.uploadId, ['processing'], {
      status: 'stored',
      storedAt: new Date().toISOString(),
      error: undefined,
    });
    if (!stored.ok) {
      // Deleted while we were copying: do not leave orphaned bytes behind.
      if (!stored.current) await this.backend.delete(event.uploadId);
      return;
    }
    if (!moved) await this.staging.discard(event.uploadId);
    this.logger.log({ msg: 'upload stored', event: 'upload.stored', uploadId: event.uploadId, requestId: event.requestId, size: event.size, attempt });
    this.events.publish(FileStoredEvent.fromRecord(stored.record));
  }

  /**
   * Moves the staged file into the backend when it can (same filesystem), else copies it.
   * Resolves whether it was moved, i.e. no staged copy is left to discard.
   */
  private async place(event: FileReceivedEvent): Promise<boolean> {
    const expected = { size: event.size, sha256: event.sha256 };
    if (await this.backend.adopt?.(event.uploadId, this.staging.pathOf(event.uploadId), expected)) return true;
    await this.backend.put(event.uploadId, this.staging.open(event.uploadId), expected);
    return false;
  }

  /** Whether an earlier attempt already moved the upload's bytes into the backend. */
  async placed(event: FileReceivedEvent): Promise<boolean> {
    return (await this.backend.stat(event.uploadId))?.size === event.size;
  }

  /**
   * Settles an upload as failed for good; a no-op when it is already settled or gone. Also called by
   * a queue worker for failures decided outside `process` (a job BullMQ gave up on, staging not visible).
   */
  async fail(event: FileReceivedEvent, error: StorageError, attempt: number): Promise<void> {
    const failed = await this.records.transition(event.uploadId, ['received', 'processing'], {
      status: 'failed',
      failedAt: new Date().toISOString(),
      attempts: attempt,
      error: { code: error.code, message: error.message },
    });
    if (failed.ok) this.events.publish(FileFailedEvent.fromRecord(failed.record));
  }
}
