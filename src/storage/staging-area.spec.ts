import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StagingArea } from './staging-area.js';

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
  afterEach(() => rm(root, { recursive: true, force: true }));

  const options = { maxBytes: 1024 * MiB, allowedMimeTypes: [] };

  it('writes a file larger than several write batches and background flushes byte for byte, in order', async () => {
    const expected = createHash('sha256');
    for await (const chunk of source(40 * MiB + 12_345)) expected.update(chunk);

    const staged = await staging.receive(source(40 * MiB + 12_345), options);

    expect(staged).toMatchObject({ size: 40 * MiB + 12_345, sha256: expected.digest('hex') });
    const onDisk = await readFile(staging.pathOf(staged.id));
    expect(createHash('sha256').update(onDisk).digest('hex')).toBe(staged.sha256);
  });

  it('leaves nothing behind when the source fails while writes and a flush are in flight', async () => {
    await expect(staging.receive(source(64 * MiB, 33 * MiB), options)).rejects.toThrow('client went away');
    expect(await readdir(staging.dir)).toEqual([]);
  });
});
