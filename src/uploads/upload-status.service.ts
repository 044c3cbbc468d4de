import { type BeforeApplicationShutdown, Inject, Injectable } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { Observable, Subject } from 'rxjs';
import { UPLOAD_RECORD_REPOSITORY, type UploadRecordRepository } from '../records/upload-record-repository.interface.js';
import { UploadNotFoundError } from '../domain/errors/upload-not-found.error.js';
import { FileFailedEvent } from '../domain/events/file-failed.event.js';
import { FileReceivedEvent } from '../domain/events/file-received.event.js';
import { FileStoredEvent } from '../domain/events/file-stored.event.js';
import { SETTLED_STATUSES, type UploadRecord } from '../domain/upload-record.js';
import { RESOLVED_UPLOADS_OPTIONS } from './module/uploads.constants.js';
import type { ResolvedUploadsOptions } from './module/uploads.options.js';

/**
 * Live status of uploads. The record repository is the source of truth; a watcher re-reads it when
 * told that a record may have changed: at once for changes made in this process (the domain
 * events), and every `statusPollIntervalMs` while a watch is open, which catches changes made by
 * another process (a BullMQ worker) through any repository. A cross-process notifier (e.g. Redis
 * pub/sub) can call {@link recordChanged} to make those instant too.
 */
@Injectable()
export class UploadStatusService implements BeforeApplicationShutdown {
  private readonly changes = new Subject<string>();
  private readonly stopping = new Subject<void>();

  constructor(
    @Inject(UPLOAD_RECORD_REPOSITORY) private readonly records: UploadRecordRepository,
    @Inject(RESOLVED_UPLOADS_OPTIONS) private readonly options: ResolvedUploadsOptions,
  ) {}

  /** Tells open watches of `uploadId` to read its record again. */
  recordChanged(uploadId: string): void {
    this.changes.next(uploadId);
  }

  /**
   * Ends every open watch: an open stream would otherwise hold the HTTP server's shutdown until its
   * client leaves. An EventSource reconnects by itself, to whichever instance is up.
   */
  beforeApplicationShutdown(): void {
    this.stopping.next();
  }

  @OnEvent(FileReceivedEvent.eventName)
  @OnEvent(FileStoredEvent.eventName)
  @OnEvent(FileFailedEvent.eventName)
  protected onUploadEvent(event: FileReceivedEvent | FileStoredEvent | FileFailedEvent): void {
    this.recordChanged(event.uploadId);
  }

  /**
   * The current record at once, then the record each time its status changes; completes after
   * `stored` or `failed` (at once for an upload already settled). Errors with
   * {@link UploadNotFoundError} when the upload does not exist or is deleted while watched.
   * A status that lasts less than the poll interval and has no event (`processing` seen from
   * another process) may be skipped; the settled status never is.
   */
  watch(id: string): Observable<UploadRecord> {
    return new Observable<UploadRecord>((subscriber) => {
      let lastStatus: string | undefined;
      let closed = false;
      let pending = false;
      let reading: Promise<void> = Promise.resolve();

      // Reads never overlap and a burst of signals costs at most one extra read.
      const check = () => {
        if (closed || pending) return;
        pending = true;
        reading = reading.then(async () => {
          pending = false;
          if (closed) return;
          try {
            const record = await this.records.get(id);
            if (closed) return;
            if (!record) return subscriber.error(new UploadNotFoundError(id));
            if (record.status !== lastStatus) {
              lastStatus = record.status;
              subscriber.next(record);
            }
            if (SETTLED_STATUSES.includes(record.status)) subscriber.complete();
          } catch (err) {
            subscriber.error(err);
          }
        });
      };

      // Subscribe before the first read, so a change in between is not missed.
      const signals = this.changes.subscribe((changedId) => {
        if (changedId === id) check();
      });
      const stop = this.stopping.subscribe(() => subscriber.complete());
      const interval = this.options.statusPollIntervalMs;
      const timer = interval > 0 ? setInterval(check, interval) : undefined;
      timer?.unref();
      check();

      return () => {
        closed = true;
        signals.unsubscribe();
        stop.unsubscribe();
        clearInterval(timer);
      };
    });
  }
}
