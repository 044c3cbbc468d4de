import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { UPLOAD_RECORD_REPOSITORY, type UploadRecordRepository } from '../../records/upload-record-repository.interface.js';
import { StagingArea } from '../../storage/staging-area.js';
import { STORAGE_BACKEND, type StorageBackend } from '../../storage/storage-backend.interface.js';
import { FileFailedEvent } from '../../domain/events/file-failed.event.js';
import { FileReceivedEvent } from '../../domain/events/file-received.event.js';
import type { UploadRecord, UploadStatus } from '../../domain/upload-record.js';
import { UploadEventsPublisher } from '../events/upload-events.publisher.js';
import { ResumableUploadsService } from '../resumable-uploads.service.js';
import { RESOLVED_UPLOADS_OPTIONS } from '../module/uploads.constants.js';
import type { ResolvedUploadsOptions } from '../module/uploads.options.js';
import { StructuredLogger } from '../../common/structured-logger.js';

export interface ReconcileFindings {
  /** When the sweep finished. */
  at: string;
  /** Stored uploads whose bytes were checked: all at start, `reconcileBatch` in a periodic sweep. */
  storedChecked: number;
  /** Stored records whose bytes vanished: re-stored from staging when possible, else failed. */
  missingContent: number;
  /** Stored bytes with no record: removed. */
  orphanedContent: number;
  /** Staged bytes older than the stale limit with no live upload: removed. */
  staleStaging: number;
  /** Leftovers of saves cut off by a crash (temp files), older than the stale limit: removed. */
  staleIncomplete: number;
  /** Resumable uploads left unfinished past their expiry: record and bytes removed. */
  expiredUploads: number;
}

/** What a sweep counts; `/health` also shows their sums over every sweep. */
type Counts = Omit<ReconcileFindings, 'at'>;
const COUNTS: readonly (keyof Counts)[] = [
  'storedChecked',
  'missingContent',
  'orphanedContent',
  'staleStaging',
  'staleIncomplete',
  'expiredUploads',
];
const noCounts = (): Counts => Object.fromEntries(COUNTS.map((count) => [count, 0])) as unknown as Counts;

/** Stored records read per repository call during a sweep. */
const SWEEP_PAGE = 256;
/** Stats (or record reads) in flight at once during a sweep. */
const SWEEP_CONCURRENCY = 16;

/** Groups an async sequence into arrays of `size` (the last may be shorter). */
async function* batches<T>(items: AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  let batch: T[] = [];
  for await (const item of items) {
    batch.push(item);
    if (batch.length === size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/** Ends a sweep that was still running when the module was destroyed. */
class SweepStopped extends Error {}

/**
 * `full` checks every stored upload and lists every stored key. `periodic` checks the next
 * `reconcileBatch` stored uploads and lists the stored keys only when that completes a pass, so
 * its cost does not grow with the store (1,000,000 stored uploads took 21 s and 31 s of CPU to
 * check, plus 7 s to list, every sweep).
 */
export type SweepScope = 'full' | 'periodic';

/**
 * Periodic sweep (and one at start) for records and files that disagree. Repairs what it can,
 * reports each finding in a structured log line, and keeps counts for `/health`. Sweeps run in the
 * background: one visits every stored upload, and start-up must not wait for that.
 */
@Injectable()
export class UploadReconciler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new StructuredLogger(UploadReconciler.name);
  private timer?: NodeJS.Timeout;
  private running?: { scope: SweepScope; findings: Promise<ReconcileFindings> };
  /** The last stored upload a periodic sweep checked; the next goes on after it (ids are read newest first). */
  private storedCursor?: string;
  private stopping = false;
  last?: ReconcileFindings;
  readonly totals: Counts & { sweeps: number } = { sweeps: 0, ...noCounts() };

  constructor(
    @Inject(UPLOAD_RECORD_REPOSITORY) private readonly records: UploadRecordRepository,
    @Inject(STORAGE_BACKEND) private readonly backend: StorageBackend,
    @Inject(RESOLVED_UPLOADS_OPTIONS) private readonly options: ResolvedUploadsOptions,
    private readonly staging: StagingArea,
    private readonly events: UploadEventsPublisher,
    private readonly resumable: ResumableUploadsService,
  ) {}

  onApplicationBootstrap(): void {
    // Not awaited: with 20,000 stored uploads the first sweep added about 1.5 s to start-up, and it
    // grows with every upload. Its findings reach the logs and /health when it ends.
    this.sweepInBackground('full');
    if (this.options.reconcileIntervalMs > 0) {
      this.timer = setInterval(() => this.sweepInBackground('periodic'), this.options.reconcileIntervalMs);
      this.timer.unref();
    }
  }

  onModuleDestroy(): void {
    this.stopping = true; // a sweep in progress stops at its next step, before the stores close
    clearInterval(this.timer);
  }

  private sweepInBackground(scope: SweepScope): void {
    this.sweep(scope).catch((err: unknown) => {
      if (!(err instanceof SweepStopped)) this.logger.error({ msg: 'reconciliation sweep failed', event: 'upload.reconcile_failed', err });
    });
  }

  private checkStopping(): void {
    if (this.stopping) throw new SweepStopped('the reconciler was stopped');
  }

  /**
   * One sweep (see `SweepScope`). Concurrent callers share the sweep in progress, unless a full one
   * is asked for during a periodic one: it runs once that ends.
   */
  sweep(scope: SweepScope = 'full'): Promise<ReconcileFindings> {
    const running = this.running;
    if (running && (running.scope === 'full' || scope === 'periodic')) return running.findings;
    if (running) return running.findings.catch(() => undefined).then(() => this.sweep(scope));
    const findings = this.run(scope).finally(() => (this.running = undefined));
    this.running = { scope, findings };
    return findings;
  }

  private async run(scope: SweepScope): Promise<ReconcileFindings> {
    const findings: ReconcileFindings = { at: '', ...noCounts() };
    const batch = scope === 'full' ? 0 : this.options.reconcileBatch;
    const stored = await this.checkStored(batch);
    findings.storedChecked = stored.checked;
    findings.missingContent = stored.missing;

    this.checkStopping();
    findings.expiredUploads = await this.resumable.sweepExpired(() => this.checkStopping());

    this.checkStopping();
    // Listing every stored key costs what checking every record does: once per pass over the records.
    if (this.backend.keys && stored.passDone) {
      for await (const keys of batches(this.backend.keys(), SWEEP_CONCURRENCY)) {
        this.checkStopping();
        const found = await Promise.all(keys.map((key) => this.records.get(key)));
        this.checkStopping();
        for (const [i, key] of keys.entries()) {
          if (found[i]) continue;
          findings.orphanedContent += 1;
          this.logger.warn({ msg: 'stored bytes without a record removed', event: 'upload.orphaned_content', uploadId: key });
          await this.backend.delete(key);
        }
      }
    }

    this.checkStopping();
    const staleBefore = Date.now() - this.options.staleStagingMs;
    for (const entry of await this.staging.list()) {
      this.checkStopping();
      if (entry.mtimeMs >= staleBefore) continue;
      const record = await this.records.get(entry.id);
      // Unsettled uploads still need their bytes (unfinished resumable ones until they expire); everything else stale can go.
      if (record && (record.status === 'received' || record.status === 'processing' || record.status === 'receiving')) continue;
      findings.staleStaging += 1;
      this.logger.warn({
        msg: 'stale staged bytes removed',
        event: 'upload.stale_staging',
        uploadId: entry.id,
        requestId: record?.requestId,
        status: record?.status ?? 'none',
        bytes: entry.size,
      });
      await this.staging.discard(entry.id);
    }

    this.checkStopping();
    findings.staleIncomplete = (await this.backend.sweepIncomplete?.(staleBefore)) ?? 0;
    if (findings.staleIncomplete > 0) {
      this.logger.warn({
        msg: 'leftovers of interrupted saves removed',
        event: 'upload.stale_incomplete',
        removed: findings.staleIncomplete,
      });
    }

    this.checkStopping();
    findings.at = new Date().toISOString();
    this.last = findings;
    this.totals.sweeps += 1;
    for (const count of COUNTS) this.totals[count] += findings[count];
    // Checking is not a finding: any other count is.
    if (COUNTS.some((count) => count !== 'storedChecked' && findings[count] > 0)) {
      this.logger.warn({ msg: 'reconciliation found disagreements', event: 'upload.reconciled', ...findings });
    }
    return findings;
  }

  /**
   * Stats stored uploads' bytes, a few at once (a network backend's round trips overlap): all of
   * them, or with a `limit` the next that many after the cursor. `passDone` once the oldest is reached.
   */
  private async checkStored(limit: number): Promise<{ checked: number; missing: number; passDone: boolean }> {
    const after = limit > 0 ? this.storedCursor : undefined;
    let checked = 0;
    let missing = 0;
    let last: string | undefined;
    for await (const batch of batches(this.recordsWith('stored', after, limit), SWEEP_CONCURRENCY)) {
      const present = await Promise.all(batch.map((record) => this.backend.stat(record.id)));
      this.checkStopping(); // the stats may have outlasted the module
      for (const [i, record] of batch.entries()) {
        if (present[i]) continue;
        missing += 1;
        await this.repairMissing(record.id);
      }
      checked += batch.length;
      last = batch[batch.length - 1].id;
    }
    const passDone = limit === 0 || checked < limit;
    this.storedCursor = passDone ? undefined : last;
    return { checked, missing, passDone };
  }

  /**
   * The records with `status` older than `before` (all when undefined), newest first, `limit` of them
   * at most (0: no limit), read a page at a time so memory does not grow with the number of uploads.
   * The cursor is an id, so records leaving the status meanwhile do not shift it; newer ones are
   * left to the next sweep.
   */
  private async *recordsWith(status: UploadStatus, before?: string, limit = 0): AsyncGenerator<UploadRecord> {
    let left = limit > 0 ? limit : Number.POSITIVE_INFINITY;
    while (left > 0) {
      this.checkStopping();
      const page = await this.records.list({ status, limit: Math.min(SWEEP_PAGE, left), before });
      yield* page;
      left -= page.length;
      if (page.length < SWEEP_PAGE) return;
      before = page[page.length - 1].id;
    }
  }

  /** Bytes of a stored upload vanished: store again from staging if the bytes are still there. */
  private async repairMissing(id: string): Promise<void> {
    if (await this.staging.exists(id)) {
      const result = await this.records.transition(id, ['stored'], { status: 'received', storedAt: undefined });
      if (result.ok) {
        this.logger.warn({
          msg: 'stored bytes missing; storing again from staging',
          event: 'upload.content_missing',
          uploadId: id,
          requestId: result.record.requestId,
          repaired: true,
        });
        this.events.publish(FileReceivedEvent.fromRecord(result.record, { retry: true }));
      }
      return;
    }
    const result = await this.records.transition(id, ['stored'], {
      status: 'failed',
      failedAt: new Date().toISOString(),
      error: { code: 'CONTENT_MISSING', message: 'The stored bytes vanished and no staged copy is left' },
    });
    this.logger.error({
      msg: 'stored bytes missing and not recoverable',
      event: 'upload.content_missing',
      uploadId: id,
      requestId: result.ok ? result.record.requestId : result.current?.requestId,
      repaired: false,
    });
    if (result.ok) this.events.publish(FileFailedEvent.fromRecord(result.record));
  }
}
