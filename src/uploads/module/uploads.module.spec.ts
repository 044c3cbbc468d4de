import { Readable } from 'node:stream';
import { Injectable, type DynamicModule } from '@nestjs/common';
import { EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import { Test, type TestingModule } from '@nestjs/testing';
import { createTempStorageRoot, type TempStorageRoot } from '../../testing/temp-storage-root.js';
import { FileStoredEvent } from '../../domain/events/file-stored.event.js';
import { UploadsModule } from './uploads.module.js';
import { UploadsService } from '../uploads.service.js';

/** A host provider listening the plain way; resolves `first` on the first event it gets. */
@Injectable()
class HostListener {
  readonly received: string[] = [];
  private resolveFirst!: () => void;
  readonly first = new Promise<void>((resolve) => (this.resolveFirst = resolve));

  @OnEvent(FileStoredEvent.eventName)
  onStored(event: FileStoredEvent): void {
    this.received.push(event.uploadId);
    this.resolveFirst();
  }
}

describe('UploadsModule initialisation', () => {
  let root: TempStorageRoot;
  let moduleRef: TestingModule | undefined;

  beforeEach(async () => {
    root = await createTempStorageRoot('stowage-module-');
    moduleRef = undefined;
  });
  afterEach(async () => {
    await moduleRef?.close();
    await root.cleanup();
  });

  async function boot(...imports: DynamicModule[]): Promise<TestingModule> {
    moduleRef = await Test.createTestingModule({ imports, providers: [HostListener] }).compile();
    await moduleRef.init();
    return moduleRef;
  }

  it('fails with a message naming a bad option returned by the forRootAsync factory', async () => {
    const uploads = UploadsModule.forRootAsync({ useFactory: async () => ({ storageRoot: root.path, storageConcurrency: 0 }) });
    await expect(boot(EventEmitterModule.forRoot(), uploads)).rejects.toThrow(
      'UploadsModule option "storageConcurrency" must not be less than 1 (got 0)',
    );
  });

  it('fails with a message naming a custom storage backend that lacks part of the contract', async () => {
    const storage = { put: async () => undefined } as never;
    await expect(boot(EventEmitterModule.forRoot(), UploadsModule.forRoot({ storageRoot: root.path, storage }))).rejects.toThrow(
      /"storage" must implement StorageBackend/,
    );
  });

  it('fails when the module is defined with a bad shape option, for forRoot and forRootAsync alike', () => {
    expect(() => UploadsModule.forRoot({ path: 'files/../admin' })).toThrow(/option "path" must be a route prefix/);
    expect(() => UploadsModule.forRootAsync({ eventEmitter: 'global' as never, useFactory: () => ({}) })).toThrow(
      /option "eventEmitter" must be "host" or "own"/,
    );
  });

  it('tells the host to import EventEmitterModule when it has none and the emitter is the host’s', async () => {
    await expect(boot(UploadsModule.forRoot({ storageRoot: root.path }))).rejects.toThrow(
      /UploadsModule needs an EventEmitter2: import EventEmitterModule.forRoot\(\) in your app module, or pass eventEmitter: 'own'/,
    );
  });

  it.each([
    ['without an emitter of the host', [] as DynamicModule[]],
    ['next to the host’s own EventEmitterModule', [EventEmitterModule.forRoot()]],
  ])("with eventEmitter 'own' stores uploads and delivers file.stored to host listeners once, %s", async (_case, hostImports) => {
    const app = await boot(...hostImports, UploadsModule.forRoot({ storageRoot: root.path, durability: 'none', eventEmitter: 'own' }));
    const uploads = app.get(UploadsService);
    const listener = app.get(HostListener);

    const record = await uploads.upload(Readable.from([Buffer.from('hello')]), { filename: 'hello.txt' });
    await expect(uploads.waitUntilSettled(record.id, { timeoutMs: 5000 })).resolves.toMatchObject({ status: 'stored' });
    await listener.first;

    expect(listener.received).toEqual([record.id]);
  });
});
