import { jest } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { EventEmitterModule, EventEmitter2 } from '@nestjs/event-emitter';
import { Test, type TestingModule } from '@nestjs/testing';
import { LoggingModule, PinoLoggerService } from '../app/logging/logging.module.js';
import { UPLOAD_RECORD_REPOSITORY, type UploadRecordRepository } from '../records/upload-record-repository.interface.js';
import { StagingArea } from '../storage/staging-area.js';
import { STORAGE_BACKEND } from '../storage/storage-backend.interface.js';
import { StorageError } from '../domain/errors/storage.error.js';
import { TASK_TRANSPORT, type TaskTransport } from '../tasks/task-transport.interface.js';
import { InMemoryRecordRepository } from '../testing/in-memory-record.repository.js';
import { InMemoryStorage } from '../testing/in-memory.storage.js';
import { FileFailedEvent } from '../domain/events/file-failed.event.js';
import { FileReceivedEvent } from '../domain/events/file-received.event.js';
import { FileStorageService } from './file-storage.service.js';
import { FileStoredEvent } from '../domain/events/file-stored.event.js';
import { UploadEventsPublisher } from './events/upload-events.publisher.js';
import type { UploadRecord } from '../domain/upload-record.js';
import { RESOLVED_UPLOADS_OPTIONS } from './module/uploads.constants.js';
import { resolveUploadsOptions } from './module/uploads.options.js';

type TransitionArgs = Parameters<UploadRecordRepository['transition']>;

/** A transport that only records what it was given: these tests drive `process()` themselves. */
class RecordingTransport implements TaskTransport {
  readonly dispatched: FileReceivedEvent[] = [];
  process(): void {}
  async dispatch(task: FileReceivedEvent): Promise<void> {
    this.dispatched.push(task);
  }
  backlog(): number {
    return 0;
  }
  async holds(): Promise<boolean> {
    return false;
  }
  async drain(): Promise<boolean> {
    return true;
  }
}

describe('FileStorageService', () => {
  let root: string;
  let moduleRef: TestingModule;
  let sut: FileStorageService;
  let records: InMemoryRecordRepository;
  let backend: InMemoryStorage;
  let staging: StagingArea;
  let logLines: Array<Record<string, unknown>>;
  let emitted: Array<FileStoredEvent | FileFailedEvent>;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'stowage-unit-'));
    records = new InMemoryRecordRepository();
    backend = new InMemoryStorage();
    staging = new StagingArea(join(root, 'staging'), false);
    await staging.init();
    logLines = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) logLines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    moduleRef = await Test.createTestingModule({
      imports: [EventEmitterModule.forRoot(), LoggingModule.forRoot({ options: { level: 'info' }, destination: sink })],
      providers: [
        FileStorageService,
        UploadEventsPublisher,
        { provide: UPLOAD_RECORD_REPOSITORY, useValue: records },
        { provide: STORAGE_BACKEND, useValue: backend },
        { provide: TASK_TRANSPORT, useValue: new RecordingTransport() },
        { provide: StagingArea, useValue: staging },
        { provide: RESOLVED_UPLOADS_OPTIONS, useValue: resolveUploadsOptions({ storageRoot: root, retry: { attempts: 3 } }) },
      ],
    }).compile();
    moduleRef.useLogger(moduleRef.get(PinoLoggerService));
    await moduleRef.init();
    sut = moduleRef.get(FileStorageService);
    emitted = [];
    const emitter = moduleRef.get(EventEmitter2);
    emitter.on(FileStoredEvent.eventName, (e: FileStoredEvent) => emitted.push(e));
    emitter.on(FileFailedEvent.eventName, (e: FileFailedEvent) => emitted.push(e));
  });

  afterEach(async () => {
    await moduleRef.close();
    await rm(root, { recursive: true, force: true });
  });

  async function receive(content: string, filename = 'notes.txt'): Promise<FileReceivedEvent> {
    const staged = await staging.receive(Readable.from([Buffer.from(content)]), { maxBytes: 1024, allowedMimeTypes: [] });
    const now = new Date().toISOString();
    const record: UploadRecord = {
      ...staged,
      status: 'received',
      filename,
      receivedAt: now,
      updatedAt: now,
      attempts: 0,
      requestId: 'req-1',
    };
    await records.create(record);
    return FileReceivedEvent.fromRecord(record);
  }

  const flush = () => new Promise((resolve) => setImmediate(resolve));

  it('stores the staged bytes, marks the record stored, clears staging and emits file.stored', async () => {
    const event = await receive('hello world');

    await sut.process(event, 1);
    await flush();

    expect(backend.objects.get(event.uploadId)?.toString()).toBe('hello world');
    const record = await records.get(event.uploadId);
    expect(record).toMatchObject({ status: 'stored', attempts: 1 });
    expect(record?.storedAt).toEqual(expect.any(String));
    expect(await staging.exists(event.uploadId)).toBe(false);
    expect(emitted).toEqual([expect.objectContaining({ eventName: 'file.stored', uploadId: event.uploadId })]);
  });

  it('asks for a retry on a transient error, then stores on the next attempt', async () => {
    const event = await receive('flaky disk');
    backend.failNext(new StorageError('BUSY', 'device busy'));

    await expect(sut.process(event, 1)).rejects.toMatchObject({ code: 'BUSY' });
    expect((await records.get(event.uploadId))?.status).toBe('processing');

    await sut.process(event, 2);
    await flush();

    expect(await records.get(event.uploadId)).toMatchObject({ status: 'stored', attempts: 2 });
    expect(backend.objects.get(event.uploadId)?.toString()).toBe('flaky disk');
  });

  it('ends failed on a permanent error, with the error on the record, one JSON log line and file.failed', async () => {
    const event = await receive('doomed', 'report.pdf');
    backend.failNext(new StorageError('PERMISSION_DENIED', 'permission denied'));

    await sut.process(event, 1);
    await flush();

    const record = await records.get(event.uploadId);
    expect(record).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'PERMISSION_DENIED', message: 'permission denied' } });
    expect(await staging.exists(event.uploadId)).toBe(true); // kept for a retry
    expect(emitted).toEqual([expect.objectContaining({ eventName: 'file.failed', uploadId: event.uploadId })]);

    const errors = logLines.filter((l) => l.uploadId === event.uploadId && (l.level as number) >= 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      event: 'upload.store_failed',
      filename: 'report.pdf',
      attempt: 1,
      errorCode: 'PERMISSION_DENIED',
      requestId: 'req-1',
      final: true,
      err: expect.objectContaining({ message: 'permission denied', stack: expect.stringContaining('StorageError') }),
    });
  });

  it('warns on an attempt that will be retried, and gives up with one error line after the last attempt', async () => {
    const event = await receive('never works');
    for (const attempt of [1, 2]) {
      backend.failNext(new StorageError('IO_ERROR', 'i/o error'));
      await expect(sut.process(event, attempt)).rejects.toMatchObject({ code: 'IO_ERROR' });
    }
    expect(await records.get(event.uploadId)).toMatchObject({ status: 'processing' });
    backend.failNext(new StorageError('IO_ERROR', 'i/o error'));

    await sut.process(event, 3);

    expect(await records.get(event.uploadId)).toMatchObject({ status: 'failed', error: { code: 'IO_ERROR' } });
    const lines = logLines.filter((l) => l.event === 'upload.store_failed');
    expect(lines.map((l) => [l.level, l.attempt, l.final])).toEqual([
      [40, 1, false],
      [40, 2, false],
      [50, 3, true],
    ]);
  });

  it('is idempotent: a second run after storing changes nothing', async () => {
    const event = await receive('once');
    await sut.process(event, 1);
    await sut.process(event, 1);
    await flush();

    expect(backend.started).toEqual([event.uploadId]);
    expect(emitted.filter((e) => e.eventName === 'file.stored')).toHaveLength(1);
  });

  it('places the bytes while the processing mark is still being written, and marks stored after both', async () => {
    const event = await receive('side by side');
    // A non-durable write held back, as one queued behind the record store's flush would be.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const transition = records.transition.bind(records);
    jest.spyOn(records, 'transition').mockImplementation(async (...[id, from, patch, options]: TransitionArgs) => {
      if (options?.durable === false) await held;
      return transition(id, from, patch);
    });

    const put = backend.put.bind(backend);
    const placed = new Promise<void>((resolve) => {
      jest.spyOn(backend, 'put').mockImplementation(async (...args: Parameters<typeof put>) => {
        await put(...args);
        resolve();
      });
    });

    const storing = sut.process(event, 1);
    await placed; // never, were the bytes placed only after the mark

    expect(backend.objects.get(event.uploadId)?.toString()).toBe('side by side');
    expect(await records.get(event.uploadId)).toMatchObject({ status: 'received' });
    release();
    await storing;
    expect(await records.get(event.uploadId)).toMatchObject({ status: 'stored', attempts: 1 });
    expect(emitted.map((e) => e.eventName)).toEqual(['file.stored']);
  });

  it('leaves no bytes behind for an upload deleted while they were being placed', async () => {
    const event = await receive('gone soon');
    const transition = records.transition.bind(records);
    jest.spyOn(records, 'transition').mockImplementation(async (...[id, from, patch, options]: TransitionArgs) => {
      if (options?.durable === false) await records.delete(id);
      return transition(id, from, patch);
    });

    await sut.process(event, 1);
    await flush();

    expect(backend.objects.has(event.uploadId)).toBe(false);
    expect(await records.get(event.uploadId)).toBeUndefined();
    expect(emitted).toEqual([]);
  });

  it('hands its own file.received to the transport in the same turn, instead of storing inline', async () => {
    const event = await receive('queued');
    const transport = moduleRef.get<RecordingTransport>(TASK_TRANSPORT);

    moduleRef.get(UploadEventsPublisher).publish(event);

    expect(transport.dispatched.map((e) => e.uploadId)).toEqual([event.uploadId]);
    await flush();
    expect(backend.started).toEqual([]);
  });

  it('leaves a file.received it did not publish to the module that did (another mount)', async () => {
    const event = await receive('elsewhere');
    const transport = moduleRef.get<RecordingTransport>(TASK_TRANSPORT);

    moduleRef.get(EventEmitter2).emit(FileReceivedEvent.eventName, FileReceivedEvent.fromRecord((await records.get(event.uploadId))!));
    await flush();

    expect(transport.dispatched).toEqual([]);
  });
});
