import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { jest } from '@jest/globals';
import type { Request } from 'express';
import { StagingArea } from '../../storage/staging-area.js';
import { FileTooLargeError } from '../../domain/errors/file-too-large.error.js';
import { DisallowedFileTypeError } from '../../domain/errors/disallowed-file-type.error.js';
import { resolveUploadsOptions } from '../module/uploads.options.js';
import { StagingStorageEngine, type StagedMulterFile } from './staging-storage.engine.js';

describe('StagingStorageEngine', () => {
  let root: string;
  let staging: StagingArea;
  let rejected: unknown[];
  const req = { headers: {} } as Request;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'stowage-engine-'));
    staging = new StagingArea(join(root, 'staging'), true);
    await staging.init();
    rejected = [];
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await staging.onApplicationShutdown();
    await rm(root, { recursive: true, force: true });
  });

  const engine = (options: Parameters<typeof resolveUploadsOptions>[0] = {}) =>
    new StagingStorageEngine(
      staging,
      resolveUploadsOptions({ storageRoot: root, ...options }),
      (_req, receiving) => void receiving.catch((err: unknown) => rejected.push(err)),
    );

  const handle = (sut: StagingStorageEngine, stream: Readable, mimetype = 'application/octet-stream', request = req) =>
    new Promise<Partial<StagedMulterFile>>((resolve, reject) => {
      const file = { fieldname: 'file', originalname: 'a.bin', mimetype, stream } as unknown as Express.Multer.File;
      sut._handleFile(request, file, (err, info) => (err ? reject(err) : resolve(info!)));
    });

  it('streams the bytes to staging and reports their size and SHA-256', async () => {
    const bytes = randomBytes(300_000);
    const info = await handle(engine(), Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]));

    expect(info.staged).toMatchObject({ size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    expect(Buffer.compare(await readFile(staging.pathOf(info.staged!.id)), bytes)).toBe(0);
  });

  it("tells staging the request's Content-Length as the size to expect, and nothing when it is missing or malformed", async () => {
    const receive = jest.spyOn(staging, 'receive');
    const withLength = (value?: string) => ({ headers: value === undefined ? {} : { 'content-length': value } }) as Request;
    for (const value of ['12345678', undefined, 'lots', '-1'])
      await handle(engine(), Readable.from([Buffer.from('abc')]), undefined, withLength(value));
    expect(receive.mock.calls.map(([, options]) => options.sizeHint)).toEqual([12_345_678, undefined, undefined, undefined]);
  });

  it('stops reading as soon as the limit is passed, deletes the partial file and reports at once', async () => {
    let pulled = 0;
    const chunks = function* () {
      for (let i = 0; i < 1000; i += 1) {
        pulled += 1;
        yield Buffer.alloc(1024, 1);
      }
    };

    await expect(handle(engine({ maxFileSize: 10 * 1024 }), Readable.from(chunks()))).rejects.toBeInstanceOf(FileTooLargeError);

    expect(pulled).toBeLessThan(20);
    expect(rejected).toEqual([expect.any(FileTooLargeError)]);
    expect(await readdir(staging.dir)).toEqual([]);
  });

  it('removes the partial file when the client aborts mid-stream', async () => {
    const stream = new PassThrough();
    stream.on('error', () => undefined); // multer listens to the part stream the same way
    const pending = handle(engine(), stream);
    stream.write(Buffer.alloc(64 * 1024));
    await new Promise((resolve) => setImmediate(resolve));
    stream.destroy(new Error('Request aborted'));

    await expect(pending).rejects.toThrow('Request aborted');
    expect(await readdir(staging.dir)).toEqual([]);
  });

  it('rejects a type outside the allow-list by its leading bytes, even when the declared type is allowed', async () => {
    const zip = Buffer.concat([Buffer.from('504b0304140000000800', 'hex'), Buffer.alloc(5000)]);
    await expect(
      handle(engine({ allowedMimeTypes: ['image/png', 'text/plain'] }), Readable.from([zip]), 'text/plain'),
    ).rejects.toBeInstanceOf(DisallowedFileTypeError);
    expect(await readdir(staging.dir)).toEqual([]);
  });

  it('removes a staged file on request', async () => {
    const sut = engine();
    const info = await handle(sut, Readable.from([Buffer.from('x')]));
    await new Promise<void>((resolve, reject) =>
      sut._removeFile(req, info as Express.Multer.File, (err) => (err ? reject(err) : resolve())),
    );
    expect(await readdir(staging.dir)).toEqual([]);
  });
});
