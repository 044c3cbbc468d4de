import pTimeout from 'p-timeout';
import { type BeforeApplicationShutdown, Inject, Injectable } from '@nestjs/common';
import { UPLOAD_RECORD_REPOSITORY, type UploadRecordRepository } from '../../records/upload-record-repository.interface.js';
import { diskSpace } from '../../storage/disk-space.js';
import { StagingArea } from '../../storage/staging-area.js';
import { TASK_TRANSPORT, type TaskTransport } from '../../tasks/task-transport.interface.js';
import { UploadsUnavailableError } from '../../domain/errors/uploads-unavailable.error.js';
import { RESOLVED_UPLOADS_OPTIONS } from '../module/uploads.constants.js';
import type { ResolvedUploadsOptions } from '../module/uploads.options.js';
import { StructuredLogger } from '../../common/structured-logger.js';

/** How long a disk or staging measurement is reused: admission must stay cheap on the hot path. */
const MEASURE_TTL_MS = 1_000;

/**
 * Decides whether a new upload may start, counts the ones in flight, and runs the shutdown order:
 * stop admitting, let in-flight uploads finish, then drain the storage work.
 */
@Injectable()
export class UploadAdmission implements BeforeApplicationShutdown {
  private readonly logger = new StructuredLogger(UploadAdmission.name);
  private inFlight = 0;
  private closing = false;
  private idle?: () => void;
  private disk = { at: 0, freeBytes: Number.POSITIVE_INFINITY };
  /** The last listing of staging, and `StagingArea.bytesStaged` when it was taken. */
  private staged = { at: 0, bytes: 0, counter: 0 };

  constructor(
    @Inject(RESOLVED_UPLOADS_OPTIONS) private readonly options: ResolvedUploadsOptions,
    @Inject(TASK_TRANSPORT) private readonly transport: TaskTransport,
    private readonly staging: StagingArea,
    @Inject(UPLOAD_RECORD_REPOSITORY) private readonly records: UploadRecordRepository,
  ) {}

  /** Reserves a slot for one upload, or throws `UploadsUnavailableError`; call the result when done. */
  async admit(): Promise<() => void> {
    const { maxBacklog, maxStagingBytes, minFreeBytes, retryAfterSeconds } = this.options.backpressure;
    if (this.closing) throw new UploadsUnavailableError('Shutting down: not accepting new uploads', retryAfterSeconds, true);
    // Checked before the body streams in: an upload whose record cannot be written would be refused anyway.
    if (this.records.available?.() === false) throw new UploadsUnavailableError('The record store cannot be reached', retryAfterSeconds);
    const backlog = this.transport.backlog();
    if (backlog >= maxBacklog) {
      throw new UploadsUnavailableError(`Storage backlog is full (${backlog} uploads waiting)`, retryAfterSeconds);
    }
    if (minFreeBytes > 0 && (await this.freeBytes()) < minFreeBytes) {
      throw new UploadsUnavailableError('Free disk space is below the configured floor', retryAfterSeconds);
    }
    if (maxStagingBytes > 0 && (await this.stagedBytes()) >= maxStagingBytes) {
      throw new UploadsUnavailableError('Staging area is full', retryAfterSeconds);
    }
    this.inFlight += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight -= 1;
      if (this.inFlight === 0) this.idle?.();
    };
  }

  get uploadsInFlight(): number {
    return this.inFlight;
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.closing = true;
    const deadline = Date.now() + this.options.shutdownTimeoutMs;
    const uploadsDone = await this.waitForInFlight(this.options.shutdownTimeoutMs);
    const workDone = await this.transport.drain(Math.max(0, deadline - Date.now()));
    if (!uploadsDone || !workDone) {
      this.logger.warn({
        msg: 'shutdown timeout reached; unfinished work resumes at the next start',
        event: 'upload.shutdown_timeout',
        uploadsInFlight: this.inFlight,
        backlog: this.transport.backlog(),
      });
    }
  }

  private waitForInFlight(timeoutMs: number): Promise<boolean> {
    if (this.inFlight === 0) return Promise.resolve(true);
    const idle = new Promise<boolean>((resolve) => (this.idle = () => resolve(true)));
    return pTimeout(idle, { milliseconds: timeoutMs, fallback: () => false });
  }

  private async freeBytes(): Promise<number> {
    if (Date.now() - this.disk.at > MEASURE_TTL_MS) {
      this.disk = { at: Date.now(), freeBytes: (await diskSpace(this.options.storageRoot)).freeBytes };
    }
    return this.disk.freeBytes;
  }

  /**
   * What staging holds: listed (a readdir and a stat per file) at most once per `MEASURE_TTL_MS`,
   * plus what this process has staged since. Files stored meanwhile are not subtracted until the next
   * listing, so between listings the figure errs high, towards refusing early.
   */
  private async stagedBytes(): Promise<number> {
    if (Date.now() - this.staged.at > MEASURE_TTL_MS) {
      const counter = this.staging.bytesStaged;
      const files = await this.staging.list();
      this.staged = { at: Date.now(), bytes: files.reduce((sum, f) => sum + f.size, 0), counter };
    }
    return this.staged.bytes + (this.staging.bytesStaged - this.staged.counter);
  }
}
