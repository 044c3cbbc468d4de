import { createHash, randomBytes } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { ConsoleLogger } from '@nestjs/common';
import { jest } from '@jest/globals';
import { Test } from '@nestjs/testing';
import type { UploadRecordRepository } from 'stowage';
import request from 'supertest';
import { type CapturedLog, CapturingLogger } from './support/capturing-logger.js';
import { installFootprint } from './support/install-footprint.js';
import { installedPackage, installPackedStowage, packedTarball } from './support/packed-stowage.js';
import type { FileIndexedEvent } from './host-app/file-indexer.listener.js';
import type { HostApp } from './host-app/start-host-app.js';

// The host app imports `stowage` from its node_modules, so it loads only after the tarball is there.
await installPackedStowage();
const { startHostApp } = await import('./host-app/start-host-app.js');
const { FailingListeners } = await import('./host-app/failing.listeners.js');
const { stowage, stowageTesting } = await import('./host-app/public-api.js');
const { AppModule: HostAppModule } = await import('./host-app/app.module.js');
// The names the docs use in the in-memory-records example.
const AppModule = HostAppModule;
const { UPLOAD_RECORD_REPOSITORY } = stowage;
const { InMemoryRecordRepository } = stowageTesting;

const repo = fileURLToPath(new URL('..', import.meta.url));

// #region host-test
describe('files (the host app’s own e2e test)', () => {
  let host: HostApp;

  beforeAll(async () => {
    host = await startHostApp();
  });
  afterAll(() => host.close());

  it('stores an uploaded file', async () => {
    const record = await host.uploads.upload(Readable.from([Buffer.from('one\ntwo\n')]), {
      filename: 'notes.txt',
      mimeType: 'text/plain',
    });

    const stored = await host.uploads.waitUntilSettled(record.id, { timeoutMs: 5000 });

    expect(stored).toMatchObject({ status: 'stored', filename: 'notes.txt', size: 8 });
  });
});
// #endregion

describe('Stowage embedded in a host app, installed from the packed tarball', () => {
  let host: HostApp;
  let logs: CapturingLogger;
  let events: EventEmitter2;
  const tenant = { 'x-tenant-id': 'acme' };

  beforeAll(async () => {
    logs = new CapturingLogger();
    host = await startHostApp({ logger: logs, providers: [FailingListeners] });
    events = host.app.get(EventEmitter2);
  });
  afterAll(() => host.close());

  it('serves the API under the host’s path, behind the host’s guard', async () => {
    const server = host.app.getHttpServer();
    await request(server).post('/api/files').attach('file', Buffer.from('x'), 'x.txt').expect(403);
    await request(server).get('/api/files').expect(403);
    await request(server).get('/uploads').set(tenant).expect(404);
    await request(server).get('/api/files').set(tenant).expect(200);
  });

  it('accepts an upload with 202, stores it, and the host’s file.stored listener chains its processing', async () => {
    const server = host.app.getHttpServer();
    const content = Buffer.from('alpha\nbeta\ngamma\n');
    // Subscribed before the upload, so a listener that finishes first is not missed; jest's timeout bounds it.
    const indexed = events.waitFor('file.indexed', (e: FileIndexedEvent) => e.filename === 'lines.txt');

    const res = await request(server)
      .post('/api/files')
      .set(tenant)
      .attach('file', content, { filename: 'lines.txt', contentType: 'text/plain' })
      .expect(202);
    expect(res.headers.location).toBe(`/api/files/${res.body.id}`);

    const [event] = (await indexed) as [FileIndexedEvent];
    expect(event).toEqual({ uploadId: res.body.id, filename: 'lines.txt', lines: 3 });
    await request(server)
      .get(`/api/files/${res.body.id}`)
      .set(tenant)
      .expect(200)
      .expect((r) => expect(r.body.status).toBe('stored'));
    const download = await request(server).get(`/api/files/${res.body.id}/content`).set(tenant).responseType('blob').expect(200);
    expect(Buffer.compare(download.body as Buffer, content)).toBe(0);
  });

  it('hashes a large stream announced with sizeHint (on the helper thread) to the right SHA-256', async () => {
    const content = Buffer.from(randomBytes(4.5 * 1024 * 1024 + 7).toString('hex')); // text: the host allows text/plain
    const chunks = Array.from({ length: Math.ceil(content.length / 65_536) }, (_, i) => content.subarray(i * 65_536, (i + 1) * 65_536));
    const record = await host.uploads.upload(Readable.from(chunks), {
      filename: 'big.txt',
      mimeType: 'text/plain',
      sizeHint: content.length,
    });
    expect(record).toMatchObject({ size: content.length, sha256: createHash('sha256').update(content).digest('hex') });
    await expect(host.uploads.waitUntilSettled(record.id, { timeoutMs: 10_000 })).resolves.toMatchObject({ status: 'stored' });
  });

  it('keeps the upload stored when host listeners throw, and logs each failure with the upload id', async () => {
    const since = logs.lines.length;
    const record = await host.uploads.upload(Readable.from([Buffer.from('%PDF-1.7\n')]), {
      filename: 'q3.pdf',
      mimeType: 'application/pdf',
    });
    const structured = (l: CapturedLog) => (l.message ?? {}) as { listener?: string; uploadId?: string; err?: Error };
    const failureOf = (listener: string) =>
      logs.waitFor((l) => structured(l).listener === listener && structured(l).uploadId === record.id, { since });

    await expect(host.uploads.waitUntilSettled(record.id, { timeoutMs: 5000 })).resolves.toMatchObject({ status: 'stored' });

    const rejected = await failureOf('FailingListeners.onStoredRejects');
    expect(rejected).toMatchObject({
      level: 'error',
      message: {
        event: 'upload.listener_failed',
        eventName: 'file.stored',
        uploadId: record.id,
        err: expect.objectContaining({ message: 'thumbnailer down for q3.pdf' }),
      },
    });
    const deferred = await failureOf('FailingListeners.onStoredThrowsDeferred');
    expect(deferred.message).toMatchObject({ err: expect.objectContaining({ message: 'deferred listener broke' }) });
    // With suppressErrors: false the rejection reaches Stowage's publisher, which logs the upload id.
    const unsuppressed = await logs.waitFor((l) => structured(l).err?.message === 'unsuppressed listener broke', { since });
    expect(unsuppressed.message).toMatchObject({ event: 'upload.listener_failed', eventName: 'file.stored', uploadId: record.id });
    // A plain @OnEvent listener's error is caught and logged by @nestjs/event-emitter itself.
    await logs.waitFor((l) => l.level === 'error' && l.message === 'plain listener broke', { since });
    await logs.waitFor((l) => l.level === 'error' && l.message === 'plain deferred listener broke', { since });

    expect(await host.uploads.get(record.id)).toMatchObject({ status: 'stored' });
    await request(host.app.getHttpServer()).get(`/api/files/${record.id}/content`).set(tenant).expect(200);
  });
});

describe('a host that closes right after a programmatic upload', () => {
  it('has the upload stored, with its file.stored delivered, by the time close() resolves', async () => {
    const root = await stowageTesting.createTempStorageRoot();
    process.env.FILES_DIR = root.path;
    try {
      const app = await (await Test.createTestingModule({ imports: [HostAppModule] }).compile()).createNestApplication().init();
      const stored: string[] = [];
      app.get(EventEmitter2).on('file.stored', (event: { uploadId: string }) => stored.push(event.uploadId));
      const record = await app
        .get(stowage.UploadsService)
        .upload(Readable.from([Buffer.from('written just before closing\n')]), { filename: 'late.txt', mimeType: 'text/plain' });

      await app.close();

      expect(stored).toEqual([record.id]);
      // compile() opens the record store but runs no lifecycle hook, so nothing re-drives the upload.
      const reopened = await Test.createTestingModule({ imports: [HostAppModule] }).compile();
      expect(await reopened.get<UploadRecordRepository>(stowage.UPLOAD_RECORD_REPOSITORY).get(record.id)).toMatchObject({
        status: 'stored',
      });
      await reopened.close();
      expect(await readdir(join(root.path, 'staging'))).toEqual([]);
    } finally {
      await root.cleanup();
    }
  });
});

describe('a host test module with the in-memory record store', () => {
  it('keeps records in memory: nothing is written to records.mdb', async () => {
    const root = await stowageTesting.createTempStorageRoot();
    process.env.FILES_DIR = root.path;
    try {
      // #region in-memory-records
      const records = new InMemoryRecordRepository();
      const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
        .overrideProvider(UPLOAD_RECORD_REPOSITORY)
        .useValue(records)
        .compile();
      const app = await moduleRef.createNestApplication().init();
      // #endregion
      const uploads = app.get(stowage.UploadsService);
      const { id } = await uploads.upload(Readable.from([Buffer.from('kept in memory\n')]), {
        filename: 'memo.txt',
        mimeType: 'text/plain',
      });
      await uploads.waitUntilSettled(id, { timeoutMs: 5000 });

      expect(records.records.get(id)).toMatchObject({ status: 'stored', filename: 'memo.txt' });
      expect(await readdir(root.path)).not.toContain('records.mdb');
      await app.close();
    } finally {
      await root.cleanup();
    }
  });
});

describe("a host that keeps Nest's default console logger", () => {
  it('gets readable lines from Stowage, with no Object(…) blocks and no empty fields', async () => {
    const root = await stowageTesting.createTempStorageRoot();
    process.env.FILES_DIR = root.path;
    const written: string[] = [];
    const capture = (chunk: unknown) => {
      written.push(String(chunk));
      return true;
    };
    const out = jest.spyOn(process.stdout, 'write').mockImplementation(capture);
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(capture);
    try {
      const moduleRef = await Test.createTestingModule({ imports: [HostAppModule] }).compile();
      const app = await moduleRef.createNestApplication({ logger: new ConsoleLogger({ colors: false }) }).init();
      const uploads = app.get(stowage.UploadsService);
      const { id } = await uploads.upload(Readable.from([Buffer.from('plain text\n')]), { filename: 'plain.txt', mimeType: 'text/plain' });
      await uploads.waitUntilSettled(id, { timeoutMs: 5000 });
      await app.close();
    } finally {
      out.mockRestore();
      err.mockRestore();
      await root.cleanup();
    }
    const stowageLines = written.filter((l) => l.includes('upload.'));
    expect(stowageLines.some((l) => /upload received event=upload\.received uploadId=\S+ size=11 mimeType=text\/plain/.test(l))).toBe(true);
    expect(stowageLines.some((l) => /upload stored event=upload\.stored uploadId=\S+ size=11 attempt=1/.test(l))).toBe(true);
    for (const line of stowageLines) {
      expect(line).not.toMatch(/Object\(\d+\)/);
      expect(line).not.toMatch(/=undefined\b/);
    }
  });
});

describe('the published package', () => {
  it('is what the host app loads as `stowage`: the unpacked tarball, not the repository', async () => {
    const unpacked = (await import(join(installedPackage, 'dist', 'index.js'))) as typeof stowage;
    expect(stowage.UploadsService).toBe(unpacked.UploadsService);
  });

  it('exposes the documented API from `stowage` and `stowage/testing`', () => {
    for (const name of [
      'UploadsModule',
      'UploadsService',
      'OnUploadEvent',
      'FileStoredEvent',
      'STORAGE_BACKEND',
      'UPLOAD_RECORD_REPOSITORY',
      'StorageError',
      'UploadError',
      'UploadRecordDto',
    ]) {
      expect(stowage).toHaveProperty(name);
    }
    expect(stowage.FileStoredEvent.eventName).toBe('file.stored');
    expect(Object.keys(stowageTesting).sort()).toEqual(['InMemoryRecordRepository', 'InMemoryStorage', 'createTempStorageRoot']);
  });

  it('ships dist with type declarations and the docs, but no sources or tests', async () => {
    const files = await listFiles(installedPackage);
    expect(files).toEqual(
      expect.arrayContaining([
        'dist/index.js',
        'dist/index.d.ts',
        'dist/testing/index.d.ts',
        'docs/EMBEDDING.md',
        'README.md',
        'package.json',
      ]),
    );
    expect(files.filter((f) => /\.spec\.|^src\/|^test\//.test(f))).toEqual([]);
  });

  it("installs into a Nest host with at most 30 packages of its own (the standalone app's extras are optional peers)", async () => {
    const { host, added } = await installFootprint(packedTarball, join(repo, 'test-output'));
    expect(host).toBeGreaterThan(30);
    expect(added.length).toBeLessThanOrEqual(30);
    for (const appOnly of ['@nestjs/swagger', '@nestjs/terminus', 'bullmq', 'ioredis', 'pino-pretty', 'prom-client', '@nestjs/config']) {
      expect(added.filter((p) => p.startsWith(`${appOnly}@`))).toEqual([]);
    }
  }, 240_000);

  it('shows in docs/EMBEDDING.md exactly the host app code this suite runs', async () => {
    const doc = await readFile(join(repo, 'docs', 'EMBEDDING.md'), 'utf8');
    const blocks = [...doc.matchAll(/<!-- include: ([^\s#]+)(?:#(\S+))? -->\n```ts\n([\s\S]*?)```/g)];
    expect(blocks.map((b) => b[1])).toEqual(
      expect.arrayContaining(['test/host-app/app.module.ts', 'test/host-app/files.module.ts', 'test/host-app/file-indexer.listener.ts']),
    );
    for (const [, path, region, shown] of blocks) {
      const source = await readFile(join(repo, path), 'utf8');
      expect({ path, region, code: shown }).toEqual({ path, region, code: region ? regionOf(source, region) : source });
    }
  });
});

/** The lines between `// #region name` and the next `// #endregion`. */
function regionOf(source: string, name: string): string {
  const lines = source.split('\n');
  const start = lines.findIndex((l) => l.trim() === `// #region ${name}`);
  const end = lines.findIndex((l, i) => i > start && l.trim() === '// #endregion');
  if (start < 0 || end < 0) throw new Error(`no region "${name}"`);
  const body = lines.slice(start + 1, end);
  // Shown without the indentation of the test it sits in.
  const indent = Math.min(...body.filter((l) => l.trim()).map((l) => l.length - l.trimStart().length));
  return body.map((l) => l.slice(indent)).join('\n') + '\n';
}

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((e) => (e.isDirectory() ? listFiles(join(dir, e.name), `${prefix}${e.name}/`) : Promise.resolve([`${prefix}${e.name}`]))),
  );
  return nested.flat();
}
