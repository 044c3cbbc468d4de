import { jest } from '@jest/globals';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HashThread } from './content-hash.js';
import { HASH_THREAD_MIN_BYTES, StagingArea } from './staging-area.js';

const MiB = 1024 * 1024;

/** `total` bytes in 64 KiB chunks with a pattern that differs per chunk; optionally fails at `failAt`. */
async function* source(total: number, failAt?: number): AsyncGenerator<Buffer> {
  for (let sent = 0, n = 0; sent < total; n += 1) {
    if (failAt !== undefined && sent >= failAt) throw new Error('client went away');
    const chunk = Buffer.alloc(Math.min(64 * 1024, total - sent), n % 251);
    sent += chunk.length;
    yield chunk;
  }
}

describe('StagingArea.receive', () => {
  let root: string;
  let staging: StagingArea;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'stowage-staging-'));
    staging = new StagingArea(join(root, 'staging'), true);
    await staging.init();
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await staging.onApplicationShutdown();
    await rm(root, { recursive: true, force: true });
  });

  const options = { maxBytes: 1024 * MiB, allowedMimeTypes: [] };

  it('writes a file larger than several write batches and background flushes byte for byte, in order', async () => {
    const expected = createHash('sha256');
    for await (const chunk of source(40 * MiB + 12_345)) expected.update(chunk);

    const staged = await staging.receive(source(40 * MiB + 12_345), options);

    expect(staged).toMatchObject({ size: 40 * MiB + 12_345, sha256: expected.digest('hex') });
    const onDisk = await readFile(staging.pathOf(staged.id));
    expect(createHash('sha256').update(onDisk).digest('hex')).toBe(staged.sha256);
    // 40 MiB through fsyncs: seconds on a disk shared with other work, so more than jest's default 5 s.
  }, 30_000);

  it('leaves nothing behind when the source fails while writes and a flush are in flight', async () => {
    await expect(staging.receive(source(64 * MiB, 33 * MiB), options)).rejects.toThrow('client went away');
    expect(await readdir(staging.dir)).toEqual([]);
  });

  it('hashes a file announced as large on the helper thread, to the same digest', async () => {
    const size = HASH_THREAD_MIN_BYTES + 54_321;
    const expected = createHash('sha256');
    for await (const chunk of source(size)) expected.update(chunk);
    const handOff = jest.spyOn(HashThread.prototype, 'hash');

    const small = await staging.receive(source(size), options);
    expect(handOff).not.toHaveBeenCalled(); // no size announced: hashed inline
    const large = await staging.receive(source(size), { ...options, sizeHint: size + 200 });

    expect(handOff).toHaveBeenCalledTimes(1);
    expect(large).toMatchObject({ size, sha256: expected.digest('hex') });
    expect(large.sha256).toBe(small.sha256);
  });

  it('leaves nothing behind, and the helper thread usable, when a large upload fails mid-way', async () => {
    const hint = { ...options, sizeHint: 64 * MiB };
    await expect(staging.receive(source(64 * MiB, 20 * MiB), hint)).rejects.toThrow('client went away');
    expect(await readdir(staging.dir)).toEqual([]);
    const staged = await staging.receive(source(HASH_THREAD_MIN_BYTES), hint);
    const onDisk = await readFile(staging.pathOf(staged.id));
    expect(createHash('sha256').update(onDisk).digest('hex')).toBe(staged.sha256);
  });
});
