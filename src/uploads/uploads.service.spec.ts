import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { jest } from '@jest/globals';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { ChecksumMismatchError } from '../domain/errors/checksum-mismatch.error.js';
import { IdempotencyKeyReusedError } from '../domain/errors/idempotency-key-reused.error.js';
import { UploadNotFoundError } from '../domain/errors/upload-not-found.error.js';
import { UploadNotRetryableError } from '../domain/errors/upload-not-retryable.error.js';
import type { UploadEvent } from '../domain/events/upload-event.js';
import { StagingArea } from '../storage/staging-area.js';
import { InMemoryRecordRepository } from '../testing/in-memory-record.repository.js';
import { InMemoryStorage } from '../testing/in-memory.storage.js';
import { UploadEventsPublisher } from './events/upload-events.publisher.js';
import type { UploadAdmission } from './lifecycle/upload-admission.service.js';
import { resolveUploadsOptions } from './module/uploads.options.js';
import { UploadStatusService } from './upload-status.service.js';
import { UploadsService } from './uploads.service.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('UploadsService', () => {
  let root: string;
  let staging: StagingArea;
  let records: InMemoryRecordRepository;
  let backend: InMemoryStorage;
  let published: UploadEvent[];
  let sut: UploadsService;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'stowage-uploads-service-'));
    staging = new StagingArea(join(root, 'staging'), false);
    await staging.init();
    records = new InMemoryRecordRepository();
    backend = new InMemoryStorage();
    const emitter = new EventEmitter2();
    published = [];
    emitter.onAny((_name, event) => published.push(event as UploadEvent));
    const options = resolveUploadsOptions({ storageRoot: root, statusPollIntervalMs: 20 });
    const admission = { admit: async () => () => undefined } as unknown as UploadAdmission;
    sut = new UploadsService(
      records,
      backend,
      options,
      staging,
      new UploadEventsPublisher(emitter),
      admission,
      new UploadStatusService(records, options),
    );
  });
  afterEach(async () => {
    await staging.onApplicationShutdown();
    await rm(root, { recursive: true, force: true });
  });

  const upload = (text: string, metadata: Parameters<UploadsService['upload']>[1] = {}) =>
    sut.upload(Readable.from([Buffer.from(text)]), metadata);
  const staged = () => readdir(staging.dir);

  it('accepts an upload: a received record with the normalized name, the bytes staged, file.received published', async () => {
    const record = await upload('hello', { filename: 'dir/../re\u0000port.txt', requestId: 'req-7' });

    expect(record).toMatchObject({
      status: 'received',
      filename: 'report.txt',
      size: 5,
      sha256: sha256('hello'),
      attempts: 0,
      requestId: 'req-7',
    });
    expect(await records.get(record.id)).toEqual(record);
    expect(await staged()).toEqual([record.id]);
    expect(published).toEqual([expect.objectContaining({ eventName: 'file.received', uploadId: record.id, requestId: 'req-7' })]);
  });

  it('rejects bytes that do not match the expected sha256, leaving nothing behind', async () => {
    await expect(upload('hello', { sha256: sha256('other') })).rejects.toBeInstanceOf(ChecksumMismatchError);
    expect(records.records.size).toBe(0);
    expect(await staged()).toEqual([]);
    expect(published).toEqual([]);
  });

  it('replays an idempotent repeat: the first record back, the second copy dropped, no second event', async () => {
    const first = await upload('same bytes', { idempotencyKey: 'order-42' });
    const again = await upload('same bytes', { idempotencyKey: 'order-42' });

    expect(again).toEqual(first);
    expect(records.records.size).toBe(1);
    expect(await staged()).toEqual([first.id]);
    expect(published).toHaveLength(1);
    await expect(upload('other bytes', { idempotencyKey: 'order-42' })).rejects.toBeInstanceOf(IdempotencyKeyReusedError);
    expect(await staged()).toEqual([first.id]);
  });

  it('loses an idempotency race gracefully: the key claimed meanwhile answers with the winner', async () => {
    const winner = await upload('raced', { idempotencyKey: 'race' });
    // The loser looked for the key before the winner's record existed, then its create finds the key taken.
    jest.spyOn(records, 'findByIdempotencyKey').mockResolvedValueOnce(undefined);

    const loser = await upload('raced', { idempotencyKey: 'race' });

    expect(loser.id).toBe(winner.id);
    expect(records.records.size).toBe(1);
    expect(await staged()).toEqual([winner.id]);
  });

  it('retries a failed upload whose staged bytes remain, and refuses any other', async () => {
    const record = await upload('flaky');
    await records.transition(record.id, ['received'], { status: 'failed', attempts: 5, error: { code: 'IO_ERROR', message: 'disk' } });
    published.length = 0;

    const retried = await sut.retry(record.id);

    expect(retried).toMatchObject({ status: 'received', attempts: 0 });
    expect(retried.error).toBeUndefined();
    expect(published).toEqual([expect.objectContaining({ eventName: 'file.received', uploadId: record.id })]);
    await expect(sut.retry(record.id)).rejects.toThrow(/it is received, only failed uploads are retried/);
    await records.transition(record.id, ['received'], { status: 'failed' });
    await staging.discard(record.id);
    await expect(sut.retry(record.id)).rejects.toBeInstanceOf(UploadNotRetryableError);
  });

  it('deletes the record, the stored bytes and the staged bytes; an unknown id is not found', async () => {
    const record = await upload('short-lived');
    await backend.put(record.id, Readable.from([Buffer.from('short-lived')]), { size: record.size, sha256: record.sha256 });

    await sut.delete(record.id);

    expect(await records.get(record.id)).toBeUndefined();
    expect(await backend.stat(record.id)).toBeUndefined();
    expect(await staged()).toEqual([]);
    await expect(sut.delete(record.id)).rejects.toBeInstanceOf(UploadNotFoundError);
  });

  it('waits until an upload settles, and rejects with its error when it fails', async () => {
    const stored = await upload('one');
    const failed = await upload('two');
    const waiting = [sut.waitUntilSettled(stored.id, { timeoutMs: 5000 }), sut.waitUntilSettled(failed.id, { timeoutMs: 5000 })];
    await records.transition(stored.id, ['received'], { status: 'stored' });
    await records.transition(failed.id, ['received'], { status: 'failed', error: { code: 'IO_ERROR', message: 'disk gone' } });

    await expect(waiting[0]).resolves.toMatchObject({ status: 'stored' });
    await expect(waiting[1]).rejects.toThrow(/failed: disk gone/);
    await expect(sut.waitUntilSettled('0190a000-0000-7000-8000-000000000000', { timeoutMs: 5000 })).rejects.toBeInstanceOf(
      UploadNotFoundError,
    );
  });
});
