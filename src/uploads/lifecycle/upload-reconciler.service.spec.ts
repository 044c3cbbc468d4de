import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { StagingArea } from '../../storage/staging-area.js';
import { InMemoryRecordRepository } from '../../testing/in-memory-record.repository.js';
import { InMemoryStorage } from '../../testing/in-memory.storage.js';
import { FileFailedEvent } from '../../domain/events/file-failed.event.js';
import type { ResumableUploadsService } from '../resumable-uploads.service.js';
import type { UploadEventsPublisher } from '../events/upload-events.publisher.js';
import type { UploadRecord } from '../../domain/upload-record.js';
import { UploadReconciler } from './upload-reconciler.service.js';
import type { ResolvedUploadsOptions } from '../module/uploads.options.js';

/** Counts stats (and which keys), how many ran at once, and listings of every key. */
class CountingStorage extends InMemoryStorage {
  stats = 0;
  statted: string[] = [];
  listings = 0;
  private inFlight = 0;
  maxInFlight = 0;

  async *keys(): AsyncIterable<string> {
    this.listings += 1;
    yield* [...this.objects.keys()];
  }

  override async stat(key: string): Promise<{ size: number } | undefined> {
    this.stats += 1;
    this.statted.push(key);
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
    await new Promise((resolve) => setImmediate(resolve));
    this.inFlight -= 1;
    return super.stat(key);
  }
}

function storedRecord(n: number): UploadRecord {
  const at = new Date(Date.UTC(2026, 0, 1, 0, 0, 0, n)).toISOString();
  return {
    id: `01939a4e-${String(n).padStart(4, '0')}-7000-8000-000000000000`,
    status: 'stored',
    filename: `f${n}.txt`,
    mimeType: 'text/plain',
    size: 1,
    sha256: 'a'.repeat(64),
    receivedAt: at,
    updatedAt: at,
    storedAt: at,
    attempts: 1,
  };
}

describe('UploadReconciler', () => {
  const total = 600;
  let records: InMemoryRecordRepository;
  let storage: CountingStorage;
  let publish: jest.Mock<(event: unknown) => void>;
  let sut: UploadReconciler;

  beforeAll(() => Logger.overrideLogger(false)); // the findings' log lines are covered by the e2e suites

  beforeEach(async () => {
    records = new InMemoryRecordRepository();
    storage = new CountingStorage();
    for (let n = 0; n < total; n++) {
      const record = storedRecord(n);
      await records.create(record);
      // Two uploads' bytes vanished: the first and one in the middle of a later page.
      if (n !== 0 && n !== 301) storage.objects.set(record.id, Buffer.from('x'));
    }
    const staging = { list: async () => [], exists: async () => false } as unknown as StagingArea;
    publish = jest.fn<(event: unknown) => void>();
    const events = { publish } as unknown as UploadEventsPublisher;
    const options = { reconcileIntervalMs: 0, reconcileBatch: 250, staleStagingMs: 60_000 } as ResolvedUploadsOptions;
    const resumable = { sweepExpired: async () => 0 } as unknown as ResumableUploadsService;
    sut = new UploadReconciler(records, storage, options, staging, events, resumable);
  });

  it('checks every stored upload a page at a time, with a few stats at once, and fails the ones whose bytes vanished', async () => {
    const list = jest.spyOn(records, 'list');
    const findByStatus = jest.spyOn(records, 'findByStatus');

    const findings = await sut.sweep();

    expect(findings).toMatchObject({ storedChecked: total, missingContent: 2, orphanedContent: 0, staleStaging: 0, staleIncomplete: 0 });
    expect(storage.stats).toBe(total);
    expect(storage.listings).toBe(1);
    // Memory stays flat with the number of uploads: never the whole set in one read.
    expect(findByStatus).not.toHaveBeenCalled();
    expect(list.mock.calls.length).toBeGreaterThan(2);
    for (const [query] of list.mock.calls) expect(query).toMatchObject({ status: 'stored', limit: 256 });
    expect(storage.maxInFlight).toBeGreaterThan(1);
    expect(storage.maxInFlight).toBeLessThanOrEqual(16);

    for (const n of [0, 301]) {
      expect(await records.get(storedRecord(n).id)).toMatchObject({ status: 'failed', error: { code: 'CONTENT_MISSING' } });
    }
    expect(publish).toHaveBeenCalledTimes(2);
    expect(publish.mock.calls.every(([event]) => event instanceof FileFailedEvent)).toBe(true);
    expect((await records.list({ status: 'stored', limit: total })).length).toBe(total - 2);
  });

  it('checks the next reconcileBatch stored uploads each periodic sweep, and lists the stored keys once a pass is done', async () => {
    storage.objects.set('01939a4e-9999-7000-8000-000000000000', Buffer.from('x')); // bytes with no record
    const ids = (from: number, to: number) => Array.from({ length: from - to + 1 }, (_, i) => storedRecord(from - i).id);

    // 600 stored, 250 a sweep, newest first: 599-350, then 349-100 (301 vanished), then 99-0 (0 vanished).
    expect(await sut.sweep('periodic')).toMatchObject({ storedChecked: 250, missingContent: 0, orphanedContent: 0 });
    expect(storage.statted).toEqual(ids(599, 350));
    expect(await sut.sweep('periodic')).toMatchObject({ storedChecked: 250, missingContent: 1, orphanedContent: 0 });
    expect(storage.statted.slice(250)).toEqual(ids(349, 100));
    expect(storage.listings).toBe(0);
    expect(await sut.sweep('periodic')).toMatchObject({ storedChecked: 100, missingContent: 1, orphanedContent: 1 });
    expect(storage.statted.slice(500)).toEqual(ids(99, 0));
    expect(storage.listings).toBe(1);
    expect(storage.objects.has('01939a4e-9999-7000-8000-000000000000')).toBe(false);
    expect(await records.get(storedRecord(301).id)).toMatchObject({ status: 'failed' });

    // The next pass starts again from the newest; the two failed ones are no longer stored.
    expect(await sut.sweep('periodic')).toMatchObject({ storedChecked: 250, missingContent: 0 });
    expect(storage.statted.slice(600)).toEqual(ids(599, 350));
    expect(sut.totals).toMatchObject({ sweeps: 4, storedChecked: 850, missingContent: 2, orphanedContent: 1 });
  });

  it('runs a full sweep asked for during a periodic one after it, checking every stored upload', async () => {
    const periodic = sut.sweep('periodic');
    const full = sut.sweep();
    expect(sut.sweep('periodic')).toBe(periodic); // a second periodic caller shares the one running
    expect(await periodic).toMatchObject({ storedChecked: 250, missingContent: 0 });
    expect(await full).toMatchObject({ storedChecked: total, missingContent: 2 });
    expect(storage.listings).toBe(1);
  });

  it('sweeps everything at start, then one batch each period', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    try {
      const periodic = new UploadReconciler(
        records,
        storage,
        { reconcileIntervalMs: 1000, reconcileBatch: 250, staleStagingMs: 60_000 } as ResolvedUploadsOptions,
        { list: async () => [], exists: async () => false } as unknown as StagingArea,
        { publish } as unknown as UploadEventsPublisher,
        { sweepExpired: async () => 0 } as unknown as ResumableUploadsService,
      );
      periodic.onApplicationBootstrap();
      expect(await periodic.sweep('periodic')).toMatchObject({ storedChecked: total }); // joins the start-up sweep
      expect(periodic.last).toMatchObject({ storedChecked: total });
      jest.advanceTimersByTime(1000);
      // The timer's sweep, nobody else's: wait (a bounded number of turns) for its findings.
      for (let turn = 0; turn < 10_000 && periodic.last?.storedChecked === total; turn++) await new Promise((r) => setImmediate(r));
      expect(periodic.last).toMatchObject({ storedChecked: 250 });
      periodic.onModuleDestroy();
    } finally {
      jest.useRealTimers();
    }
  });

  it('stops between steps once the module is destroyed, without touching the stores again', async () => {
    const running = sut.sweep();
    sut.onModuleDestroy();
    await expect(running).rejects.toThrow('the reconciler was stopped');
    expect(storage.stats).toBeLessThanOrEqual(16);
    expect(sut.last).toBeUndefined();
  });
});
