import { Injectable, type INestApplicationContext, type LoggerService } from '@nestjs/common';
import { EventEmitter2, EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import { Test } from '@nestjs/testing';
import { FileFailedEvent } from './file-failed.event.js';
import { FileReceivedEvent } from './file-received.event.js';
import { FileStoredEvent } from './file-stored.event.js';
import { OnUploadEvent } from './on-upload-event.decorator.js';

const stored = new FileStoredEvent('u-1', 'a.txt', 'text/plain', 1, 'ab', '2026-01-01T00:00:00.000Z', 'req-1');
const failed = new FileFailedEvent('u-2', 'b.txt', { code: 'EIO', message: 'disk' }, 5, '2026-01-01T00:00:00.000Z');
const received = new FileReceivedEvent('u-3', 'c.txt', 'text/plain', 1, 'ab', '2026-01-01T00:00:00.000Z');

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
