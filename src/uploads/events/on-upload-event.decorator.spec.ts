import { Injectable, type INestApplicationContext, type LoggerService } from '@nestjs/common';
import { EventEmitter2, EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import { Test } from '@nestjs/testing';
import { FileFailedEvent } from '../../domain/events/file-failed.event.js';
import { FileReceivedEvent } from '../../domain/events/file-received.event.js';
import { FileStoredEvent } from '../../domain/events/file-stored.event.js';
import { OnUploadEvent } from './on-upload-event.decorator.js';

const at = '2026-01-01T00:00:00.000Z';
const stored = new FileStoredEvent({
  uploadId: 'u-1',
  filename: 'a.txt',
  mimeType: 'text/plain',
  size: 1,
  sha256: 'ab',
  storedAt: at,
  requestId: 'req-1',
  receivedAt: at,
});
const failed = new FileFailedEvent({
  uploadId: 'u-2',
  filename: 'b.txt',
  error: { code: 'IO_ERROR', message: 'disk' },
  attempts: 5,
  failedAt: at,
});
const received = new FileReceivedEvent({
  uploadId: 'u-3',
  filename: 'c.txt',
  mimeType: 'text/plain',
  size: 1,
  sha256: 'ab',
  receivedAt: at,
});

@Injectable()
class Listeners {
  readonly seen: string[] = [];

  @OnUploadEvent(FileStoredEvent)
  @OnUploadEvent(FileFailedEvent)
  onSettled(event: FileStoredEvent | FileFailedEvent): void {
    this.seen.push(`${event.eventName}:${event.uploadId}`);
    if (event.eventName === 'file.failed') throw new Error('alerting is down');
  }

  @OnUploadEvent(FileStoredEvent)
  @OnEvent(FileReceivedEvent.eventName)
  async onAny(event: FileStoredEvent | FileReceivedEvent): Promise<void> {
    this.seen.push(`any:${event.eventName}`);
  }
}

describe('OnUploadEvent', () => {
  let app: INestApplicationContext;
  let errors: unknown[];

  beforeEach(async () => {
    errors = [];
    const logger: LoggerService = { log() {}, warn() {}, error: (message: unknown) => errors.push(message) };
    const moduleRef = await Test.createTestingModule({ imports: [EventEmitterModule.forRoot()], providers: [Listeners] }).compile();
    moduleRef.useLogger(logger);
    app = await moduleRef.init();
  });
  afterEach(() => app.close());

  it('subscribes a method to every event it is stacked with, next to a plain @OnEvent', async () => {
    const emitter = app.get(EventEmitter2);
    await emitter.emitAsync(stored.eventName, stored);
    await emitter.emitAsync(received.eventName, received);

    expect(app.get(Listeners).seen).toEqual(['file.stored:u-1', 'any:file.stored', 'any:file.received']);
  });

  it('logs a failing listener with the upload id and the listener’s name, and rethrows nothing', async () => {
    const results = await app.get(EventEmitter2).emitAsync(failed.eventName, failed);

    expect(results).toEqual([undefined]);
    expect(errors).toEqual([
      {
        msg: 'a file.failed listener failed',
        event: 'upload.listener_failed',
        eventName: 'file.failed',
        listener: 'Listeners.onSettled',
        uploadId: 'u-2',
        requestId: undefined,
        err: expect.objectContaining({ message: 'alerting is down' }),
      },
    ]);
  });
});
