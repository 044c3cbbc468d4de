import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { EventEmitter2 } from '@nestjs/event-emitter';
import * as tus from 'tus-js-client';
import { baseUrl, randomFile, sha256 } from './support/multipart.js';
import { createTestApp, type TestApp } from './support/test-app.js';

const MiB = 1024 * 1024;

interface Finished {
  url: string;
  chunks: number;
}

/** Uploads `file` with tus-js-client in this process; resolves once the server acknowledged the last byte. */
function tusUpload(file: Buffer, options: Partial<tus.UploadOptions>): Promise<Finished> {
  return new Promise((resolve, reject) => {
    let chunks = 0;
    const upload = new tus.Upload(file, {
      retryDelays: [0, 100, 500],
      storeFingerprintForResuming: false,
      ...options,
      onChunkComplete: () => (chunks += 1),
      onSuccess: () => resolve({ url: upload.url!, chunks }),
      onError: reject,
    });
    upload.start();
  });
}

const idOf = (url: string) => url.slice(url.lastIndexOf('/') + 1);

describe('tus-js-client against the service (e2e)', () => {
  let t: TestApp;
  let endpoint: string;
  const events: Array<{ name: string; uploadId: string }> = [];

  beforeAll(async () => {
    t = await createTestApp({ DURABILITY: 'fsync', MAX_FILE_SIZE: 128 * MiB });
    endpoint = `${await baseUrl(t.server)}/uploads/tus`;
    for (const name of ['file.received', 'file.stored']) {
      t.app.get(EventEmitter2).on(name, (event: { uploadId: string }) => events.push({ name, uploadId: event.uploadId }));
    }
  });
  afterAll(() => t.close());

  it('uploads 64 MiB in 4 MiB chunks: stored, byte-identical, one file.received and one file.stored', async () => {
    const file = randomFile(64 * MiB);
    const { url, chunks } = await tusUpload(file, {
      endpoint,
      chunkSize: 4 * MiB,
      metadata: { filename: 'big.bin', filetype: 'application/octet-stream' },
    });
    expect(chunks).toBe(16);
    const id = idOf(url);
    expect(await t.uploads.waitUntilSettled(id)).toMatchObject({
      status: 'stored',
      size: file.length,
      sha256: sha256(file),
      filename: 'big.bin',
    });
    expect(events.filter((e) => e.uploadId === id).map((e) => e.name)).toEqual(['file.received', 'file.stored']);
    expect(await t.staged()).toEqual([]);
  });

  it('resumes from the stored URL with a new client after the first client was killed mid-upload', async () => {
    const file = randomFile(64 * MiB);
    const path = join(t.root, 'client-file.bin');
    await writeFile(path, file);
    const child = spawn(process.execPath, [join(import.meta.dirname, 'support', 'tus-client-child.mjs'), endpoint, path, String(4 * MiB)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    let url = '';
    let acknowledged = 0;
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (line.startsWith('URL ')) url = line.slice(4);
        if (line.startsWith('CHUNK ')) acknowledged = Number(line.slice(6));
        if (acknowledged >= 16 * MiB && child.exitCode === null) {
          child.kill('SIGKILL');
          resolve();
        }
        if (line === 'DONE') reject(new Error('the client finished before it could be killed'));
      });
    });
    await exited;
    const id = idOf(url);
    expect((await t.uploads.get(id)).status).toBe('receiving');

    const resumed = await tusUpload(file, { uploadUrl: url, chunkSize: 4 * MiB });
    expect(resumed.url).toBe(url);
    expect(resumed.chunks).toBeLessThan(16); // it went on from the server's offset, not from zero
    expect(await t.uploads.waitUntilSettled(id)).toMatchObject({ status: 'stored', sha256: sha256(file), size: file.length });
    expect(events.filter((e) => e.uploadId === id).map((e) => e.name)).toEqual(['file.received', 'file.stored']);
    expect((await t.staged()).filter((n) => n !== 'client-file.bin')).toEqual([]);
  });

  it('uploads with parallelUploads: 4 (concatenation): one stored upload, no partial left', async () => {
    const file = randomFile(24 * MiB);
    const { url } = await tusUpload(file, { endpoint, parallelUploads: 4, metadata: { filename: 'parallel.bin' } });
    const id = idOf(url);
    expect(await t.uploads.waitUntilSettled(id)).toMatchObject({
      status: 'stored',
      sha256: sha256(file),
      size: file.length,
      filename: 'parallel.bin',
    });
    expect((await t.uploads.list({ status: 'receiving' })).items).toEqual([]);
    expect((await t.staged()).filter((n) => n !== 'client-file.bin')).toEqual([]);
  });

  it('recovers from an injected checksum mismatch (460): the chunk is dropped and sent again', async () => {
    const file = randomFile(12 * MiB);
    const statuses: number[] = [];
    let injected = false;
    const { url } = await tusUpload(file, {
      endpoint,
      chunkSize: 4 * MiB,
      onBeforeRequest: (req) => {
        // The second PATCH, first attempt: a checksum that cannot match its bytes.
        if (req.getMethod() === 'PATCH' && req.getHeader('Upload-Offset') === String(4 * MiB) && !injected) {
          injected = true;
          req.setHeader('Upload-Checksum', `sha1 ${Buffer.alloc(20).toString('base64')}`);
        }
      },
      onAfterResponse: (_req, res) => {
        statuses.push(res.getStatus());
      },
      onShouldRetry: (err) => err.originalResponse?.getStatus() === 460,
    });
    expect(statuses).toContain(460);
    const id = idOf(url);
    expect(await t.uploads.waitUntilSettled(id)).toMatchObject({ status: 'stored', sha256: sha256(file), size: file.length });
  });
});
