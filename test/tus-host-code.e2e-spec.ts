import { Readable } from 'node:stream';
import { Injectable, Module } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { Test } from '@nestjs/testing';
import { createTempStorageRoot } from '../src/testing/temp-storage-root.js';
import { UploadsModule } from '../src/uploads/module/uploads.module.js';
import { OnUploadEvent } from '../src/uploads/events/on-upload-event.decorator.js';
import { FileReceivedEvent } from '../src/domain/events/file-received.event.js';
import { FileStoredEvent } from '../src/domain/events/file-stored.event.js';
import { ResumableUploadsService } from '../src/uploads/resumable-uploads.service.js';
import { UploadsService } from '../src/uploads/uploads.service.js';
import { UploadOffsetMismatchError } from '../src/domain/errors/upload-offset-mismatch.error.js';
import { randomFile, sha256 } from './support/multipart.js';

describe('resumable uploads from host code (e2e, the module in a host app)', () => {
  it('creates and appends through ResumableUploadsService; @OnUploadEvent listeners see it like any other upload', async () => {
    const seen: string[] = [];
    @Injectable()
    class HostListener {
      @OnUploadEvent(FileReceivedEvent)
      onReceived(event: FileReceivedEvent): void {
        seen.push(`received ${event.uploadId} ${event.size}`);
      }

      @OnUploadEvent(FileStoredEvent)
      onStored(event: FileStoredEvent): void {
        seen.push(`stored ${event.uploadId} ${event.sha256}`);
      }
    }
    const root = await createTempStorageRoot();
    @Module({
      imports: [EventEmitterModule.forRoot(), UploadsModule.forRoot({ storageRoot: root.path, durability: 'fsync' })],
      providers: [HostListener],
    })
    class HostModule {}
    const app = await (await Test.createTestingModule({ imports: [HostModule] }).compile()).createNestApplication({ logger: false }).init();
    try {
      const resumable = app.get(ResumableUploadsService);
      const file = randomFile(70_000);
      const upload = await resumable.create({ length: file.length, filename: 'from-code.bin' });
      expect(upload).toMatchObject({ status: 'receiving', offset: 0, length: file.length });
      const half = await resumable.append(upload.id, Readable.from([file.subarray(0, 30_000)]), { offset: 0 });
      expect(half).toMatchObject({ status: 'receiving', offset: 30_000 });
      await expect(resumable.append(upload.id, Readable.from([file.subarray(0, 10)]), { offset: 0 })).rejects.toBeInstanceOf(
        UploadOffsetMismatchError,
      );
      const done = await resumable.append(upload.id, Readable.from([file.subarray(30_000)]), { offset: 30_000 });
      expect(done).toMatchObject({ status: 'received', size: file.length, sha256: sha256(file) });
      await app.get(UploadsService).waitUntilSettled(upload.id);
      expect(seen).toEqual([`received ${upload.id} ${file.length}`, `stored ${upload.id} ${sha256(file)}`]);
    } finally {
      await app.close();
      await root.cleanup();
    }
  });
});
