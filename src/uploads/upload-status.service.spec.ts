import { lastValueFrom, toArray } from 'rxjs';
import { InMemoryRecordRepository } from '../testing/in-memory-record.repository.js';
import { UploadNotFoundError } from '../domain/errors/upload-not-found.error.js';
import type { UploadRecord } from '../domain/upload-record.js';
import { UploadStatusService } from './upload-status.service.js';
import type { ResolvedUploadsOptions } from './module/uploads.options.js';

const record = (id: string): UploadRecord => ({
  id,
  status: 'received',
  filename: 'a.txt',
  mimeType: 'text/plain',
  size: 1,
  sha256: '0'.repeat(64),
  receivedAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  attempts: 0,
});

/** Resolves once the watcher has handled everything queued so far (reads are chained promises). */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('UploadStatusService', () => {
  let records: InMemoryRecordRepository;
  let sut: UploadStatusService;

  beforeEach(async () => {
    records = new InMemoryRecordRepository();
    sut = new UploadStatusService(records, { statusPollIntervalMs: 0 } as ResolvedUploadsOptions);
    await records.create(record('u1'));
  });

  it('emits the current record, then each status change once, and completes when settled', async () => {
    const seen = lastValueFrom(sut.watch('u1').pipe(toArray()));
    await settle();
    sut.recordChanged('u1'); // nothing changed: no second `received`
    await records.transition('u1', ['received'], { status: 'processing' });
    sut.recordChanged('u1');
    await settle();
    sut.recordChanged('other'); // another upload's signal is ignored
    await records.transition('u1', ['processing'], { status: 'stored' });
    sut.recordChanged('u1');
    expect((await seen).map((r) => r.status)).toEqual(['received', 'processing', 'stored']);
  });

  it('completes after one record for an upload that is already settled', async () => {
    await records.transition('u1', ['received'], { status: 'failed', error: { code: 'PERMISSION_DENIED', message: 'denied' } });
    const seen = await lastValueFrom(sut.watch('u1').pipe(toArray()));
    expect(seen).toEqual([expect.objectContaining({ status: 'failed', error: { code: 'PERMISSION_DENIED', message: 'denied' } })]);
  });

  it('errors with UploadNotFoundError when the upload is deleted while watched', async () => {
    const seen = lastValueFrom(sut.watch('u1').pipe(toArray()));
    await settle();
    await records.delete('u1');
    sut.recordChanged('u1');
    await expect(seen).rejects.toBeInstanceOf(UploadNotFoundError);
  });

  it('ends open watches at shutdown', async () => {
    const seen = lastValueFrom(sut.watch('u1').pipe(toArray()));
    await settle();
    sut.beforeApplicationShutdown();
    expect((await seen).map((r) => r.status)).toEqual(['received']);
  });

  it('re-reads the record on its own when polling is on, catching changes without a signal', async () => {
    const polling = new UploadStatusService(records, { statusPollIntervalMs: 5 } as ResolvedUploadsOptions);
    const seen = lastValueFrom(polling.watch('u1').pipe(toArray()));
    await settle();
    await records.transition('u1', ['received'], { status: 'stored' });
    expect((await seen).map((r) => r.status)).toEqual(['received', 'stored']);
  });
});
