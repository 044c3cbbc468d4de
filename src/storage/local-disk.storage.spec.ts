import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { link, mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { uploadIdFloor } from '../domain/upload-id.js';
import { LocalDiskStorage, shardOf } from './local-disk.storage.js';

const KEY = '01939a4e-7f1c-7b3a-9c1d-2f4e5a6b7c8d';
const bytes = Buffer.from('the staged bytes');
const expected = { size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };

describe('LocalDiskStorage', () => {
  let root: string;
  let storage: LocalDiskStorage;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'stowage-disk-'));
    storage = new LocalDiskStorage(join(root, 'files'), true);
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  async function staged(dir = root): Promise<string> {
    const path = join(dir, `staged-${KEY}`);
    await writeFile(path, bytes);
    return path;
  }

  it('adopts a staged file by moving it: the source is gone and the key holds the same bytes', async () => {
    const source = await staged();
    await expect(storage.adopt(KEY, source, expected)).resolves.toBe(true);
    expect(existsSync(source)).toBe(false);
    expect(await readFile(storage.pathOf(KEY))).toEqual(bytes);
  });

  it('adopts by one rename without durability: the source is gone, the key holds the bytes, a repeat counts as done', async () => {
    const quick = new LocalDiskStorage(join(root, 'files'), false);
    const source = await staged();
    await expect(quick.adopt(KEY, source, expected)).resolves.toBe(true);
    expect(existsSync(source)).toBe(false);
    expect(await readFile(quick.pathOf(KEY))).toEqual(bytes);
    await expect(quick.adopt(KEY, source, expected)).resolves.toBe(true);
  });

  it('treats a second adopt after a completed move as done, but not when the key holds other bytes', async () => {
    const source = await staged();
    await storage.adopt(KEY, source, expected);
    await expect(storage.adopt(KEY, source, expected)).resolves.toBe(true);

    await writeFile(storage.pathOf(KEY), 'other bytes of the same len');
    await expect(storage.adopt(KEY, source, expected)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('adopts a file the key already names (a power loss kept both names) and removes the source name', async () => {
    const source = await staged();
    await mkdir(join(root, 'files', shardOf(KEY)), { recursive: true });
    await link(source, storage.pathOf(KEY));
    await expect(storage.adopt(KEY, source, expected)).resolves.toBe(true);
    expect(existsSync(source)).toBe(false);
    expect(await readFile(storage.pathOf(KEY))).toEqual(bytes);
  });

  it('puts uploads that arrive together in one shard, and later ones in others', () => {
    // Bits 24-31 of the creation time: one shard for 65.5 s, then the next.
    const start = 0x1939a4e0000;
    const together = [0, 1, 999, 65_535].map((ms) => shardOf(uploadIdFloor(start + ms)));
    expect(new Set(together)).toEqual(new Set(['4e']));
    expect(shardOf(uploadIdFloor(start + 65_536))).toBe('4f');
    expect(shardOf(uploadIdFloor(start + 256 * 65_536))).toBe('4e');
    expect(shardOf('some-other_key')).toBe('ey');
  });

  it('still finds, verifies and deletes a file an earlier release stored under the last two digits', async () => {
    const earlier = join(root, 'files', KEY.slice(-2), KEY);
    await mkdir(join(root, 'files', KEY.slice(-2)), { recursive: true });
    await writeFile(earlier, bytes);
    expect(shardOf(KEY)).not.toBe(KEY.slice(-2));

    await expect(storage.stat(KEY)).resolves.toEqual({ size: bytes.length });
    const read: Buffer[] = [];
    for await (const chunk of await storage.open(KEY, { start: 4, end: 9 })) read.push(chunk as Buffer);
    expect(Buffer.concat(read).toString()).toBe('staged');
    // A store that an earlier release finished but did not record: the staged name is gone.
    await expect(storage.adopt(KEY, join(root, 'gone'), expected)).resolves.toBe(true);
    expect(existsSync(storage.pathOf(KEY))).toBe(false);

    await storage.delete(KEY);
    expect(existsSync(earlier)).toBe(false);
    await expect(storage.stat(KEY)).resolves.toBeUndefined();
    await expect(storage.open(KEY)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('lists every stored key, in both layouts and in a shard of many files, and nothing else', async () => {
    const ids = Array.from({ length: 600 }, (_, i) => `${KEY.slice(0, -4)}${i.toString(16).padStart(4, '0')}`);
    expect(new Set(ids.map(shardOf))).toEqual(new Set(['4e']));
    await mkdir(join(root, 'files', '4e'), { recursive: true });
    await Promise.all(ids.map((id) => writeFile(join(root, 'files', '4e', id), 'x')));
    await mkdir(join(root, 'files', KEY.slice(-2)), { recursive: true });
    await writeFile(join(root, 'files', KEY.slice(-2), KEY), bytes);
    await writeFile(join(root, 'files', '4e', '.hidden'), 'not a key');
    await mkdir(join(root, 'files', '.incomplete'), { recursive: true });
    await writeFile(join(root, 'files', '.incomplete', `${KEY}.x.tmp`), 'half');

    const listed: string[] = [];
    for await (const key of storage.keys()) listed.push(key);
    expect(listed.sort()).toEqual([...ids, KEY].sort());
  });

  it('declines a file on another filesystem and leaves it in place, so the caller copies', async () => {
    // /dev/shm is a tmpfs of its own on Linux: a real cross-device link, not a simulated EXDEV.
    const shm = await mkdtemp('/dev/shm/stowage-');
    try {
      expect((await stat(shm)).dev).not.toBe((await stat(root)).dev);
      const source = await staged(shm);
      await expect(storage.adopt(KEY, source, expected)).resolves.toBe(false);
      expect(existsSync(source)).toBe(true);
      await storage.put(KEY, Readable.from([bytes]), expected);
      expect(await readFile(storage.pathOf(KEY))).toEqual(bytes);
    } finally {
      await rm(shm, { recursive: true, force: true });
    }
  });

  it('sweeps only temp files of interrupted saves older than the cut-off', async () => {
    const incomplete = join(root, 'files', '.incomplete');
    await mkdir(incomplete, { recursive: true });
    await writeFile(join(incomplete, `${KEY}.old.tmp`), 'half');
    const old = new Date(Date.now() - 60_000);
    await utimes(join(incomplete, `${KEY}.old.tmp`), old, old);
    await writeFile(join(incomplete, `${KEY}.new.tmp`), 'half');

    await expect(storage.sweepIncomplete(Date.now() - 30_000)).resolves.toBe(1);
    expect(await readdir(incomplete)).toEqual([`${KEY}.new.tmp`]);
  });

  it('rejects a put whose bytes do not match and leaves nothing at the key', async () => {
    await expect(storage.put(KEY, Readable.from([Buffer.from('tampered bytes!!')]), expected)).rejects.toMatchObject({
      code: 'CONTENT_MISMATCH',
    });
    expect(await storage.stat(KEY)).toBeUndefined();
    expect(await readdir(join(root, 'files', '.incomplete'))).toEqual([]);
  });
});
