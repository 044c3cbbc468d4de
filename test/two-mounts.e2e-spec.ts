import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Injectable, type INestApplication } from '@nestjs/common';
import { EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { createTempStorageRoot, type TempStorageRoot } from '../src/testing/temp-storage-root.js';
import { FileStoredEvent } from '../src/domain/events/file-stored.event.js';
import { UploadsModule } from '../src/uploads/module/uploads.module.js';
import { until } from './support/until.js';

/** The host's listener: sees the `file.stored` events of both mounts, on the one emitter. */
@Injectable()
class StoredLog {
  readonly ids: string[] = [];

  @OnEvent(FileStoredEvent.eventName)
  stored(event: FileStoredEvent): void {
    this.ids.push(event.uploadId);
  }
}

/** Files under `root/files/`, as `<shard>/<id>` paths. */
async function storedFiles(root: string): Promise<string[]> {
  const entries = await readdir(join(root, 'files'), { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => e.name);
}

describe('UploadsModule mounted twice in one app (e2e)', () => {
  let roots: TempStorageRoot[];
  let app: INestApplication;
  let log: StoredLog;

  beforeAll(async () => {
    roots = [await createTempStorageRoot('stowage-mount-a-'), await createTempStorageRoot('stowage-mount-b-')];
    const moduleRef = await Test.createTestingModule({
      imports: [
        EventEmitterModule.forRoot(),
        UploadsModule.forRoot({ path: 'photos', storageRoot: roots[0].path, durability: 'none' }),
        UploadsModule.forRoot({ path: 'invoices', storageRoot: roots[1].path, durability: 'none' }),
      ],
      providers: [StoredLog],
    }).compile();
    app = await moduleRef.createNestApplication({ logger: false }).init();
    log = app.get(StoredLog);
  });

  afterAll(async () => {
    await app?.close();
    for (const root of roots ?? []) await root.cleanup();
  });

  it('stores each upload once, under its own mount’s root, and serves it only there', async () => {
    const server = app.getHttpServer();
    const photo = await request(server).post('/photos').attach('file', Buffer.from('a photo'), 'p.txt').expect(202);
    const invoice = await request(server).post('/invoices').attach('file', Buffer.from('an invoice'), 'i.txt').expect(202);
    const ids = [photo.body.id as string, invoice.body.id as string];

    await until('both uploads to be stored', async () => (log.ids.length >= 2 ? true : undefined));
    expect(await storedFiles(roots[0].path)).toEqual([ids[0]]);
    expect(await storedFiles(roots[1].path)).toEqual([ids[1]]);
    expect([...log.ids].sort()).toEqual([...ids].sort());

    await request(server).get(`/photos/${ids[0]}/content`).expect(200, 'a photo');
    await request(server).get(`/invoices/${ids[1]}/content`).expect(200, 'an invoice');
    await request(server).get(`/photos/${ids[1]}`).expect(404);
    await request(server).get(`/invoices/${ids[0]}`).expect(404);
    const photos = await request(server).get('/photos').expect(200);
    expect(photos.body.items.map((r: { id: string }) => r.id)).toEqual([ids[0]]);
  });
});
