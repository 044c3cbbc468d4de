import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, open, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchedFileWriter, closeFd, forgetDir, mkdirDurable, mkdirp, openFd, syncDir } from './durable-fs.js';

/** How many of this process's open descriptors point at `path` (Linux: /proc/self/fd). */
async function descriptorsOf(path: string): Promise<number> {
  let count = 0;
  for (const fd of await readdir('/proc/self/fd')) {
    if ((await readlink(`/proc/self/fd/${fd}`).catch(() => '')) === path) count += 1;
  }
  return count;
}

describe('syncDir', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'stowage-durable-'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('keeps one descriptor per directory across many syncs, and closes it when the directory is forgotten', async () => {
    const dir = join(root, 'staging');
    await mkdir(dir);
    await Promise.all(Array.from({ length: 20 }, () => syncDir(dir)));
    await syncDir(dir);
    expect(await descriptorsOf(dir)).toBe(1);

    forgetDir(dir);
    await new Promise((r) => setTimeout(r, 50)); // the close runs on the threadpool
    expect(await descriptorsOf(dir)).toBe(0);
  });

  it('syncs a directory made again after removal through a fresh descriptor', async () => {
    const dir = join(root, 'shard');
    await mkdir(dir);
    await syncDir(dir);
    await rm(dir, { recursive: true });
    await mkdir(dir);
    forgetDir(dir);
    await syncDir(dir);
    expect(await descriptorsOf(dir)).toBe(1); // the new inode's; the old one reads "(deleted)"
  });

  it('fails for a directory that does not exist, and works once it does', async () => {
    const dir = join(root, 'later');
    await expect(syncDir(dir)).rejects.toMatchObject({ code: 'ENOENT' });
    await mkdir(dir);
    await expect(syncDir(dir)).resolves.toBeUndefined();
  });
});

describe('mkdirDurable', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'stowage-mkdir-'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  // A synced directory keeps a cached descriptor (see syncDir), which shows which ones were synced.
  it('makes the missing directories and syncs the parent of each, but not the new leaf', async () => {
    await mkdirDurable(join(root, 'a', 'b'));
    expect((await stat(join(root, 'a', 'b'))).isDirectory()).toBe(true);
    expect(await descriptorsOf(root)).toBe(1);
    expect(await descriptorsOf(join(root, 'a'))).toBe(1);
    expect(await descriptorsOf(join(root, 'a', 'b'))).toBe(0);
    forgetDir(root);
    forgetDir(join(root, 'a'));
  });

  it('syncs the parent of a directory that already existed (its maker may have died before syncing it)', async () => {
    await mkdir(join(root, 'old'));
    await mkdirDurable(join(root, 'old'));
    expect(await descriptorsOf(root)).toBe(1);
    forgetDir(root);
  });
});

describe('mkdirp', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'stowage-mkdirp-'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('makes every missing directory and resolves to the first it made, or undefined when there was nothing to make', async () => {
    await expect(mkdirp(join(root, 'a', 'b', 'c'))).resolves.toBe(join(root, 'a'));
    expect((await stat(join(root, 'a', 'b', 'c'))).isDirectory()).toBe(true);
    await expect(mkdirp(join(root, 'a', 'b', 'c'))).resolves.toBeUndefined();
    await expect(mkdirp(join(root, 'a', 'd'))).resolves.toBe(join(root, 'a', 'd'));
  });

  it('makes the same directories from many callers at once', async () => {
    const made = await Promise.all(Array.from({ length: 8 }, () => mkdirp(join(root, 'x', 'y'))));
    expect(made.filter((m) => m !== undefined).length).toBeGreaterThanOrEqual(1);
    expect((await stat(join(root, 'x', 'y'))).isDirectory()).toBe(true);
  });

  it('reports the failure that happened, not an ENOENT of its own (the EIO case: test/outages.e2e-spec.ts)', async () => {
    await writeFile(join(root, 'file'), 'x');
    await expect(mkdirp(join(root, 'file'))).rejects.toMatchObject({ code: 'EEXIST' });
    await expect(mkdirp(join(root, 'file', 'sub', 'deeper'))).rejects.toMatchObject({ code: 'ENOTDIR' });
  });
});

describe('BatchedFileWriter', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'stowage-writer-'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  const KiB = 1024;
  const chunks = (count: number, size: number) => Array.from({ length: count }, (_, i) => Buffer.alloc(size, i + 1));
  const nextTurn = () => new Promise((r) => setImmediate(r));

  /** A FIFO whose reader has not started: the writer's first write blocks once the pipe is full. */
  async function stalledPipe() {
    const path = join(root, 'pipe');
    execFileSync('mkfifo', [path]);
    const [reader, fd] = await Promise.all([open(path, 'r'), openFd(path, 'w')]);
    return { reader, fd };
  }

  it('writes a small file in one go at the end, without making the producer wait', async () => {
    const path = join(root, 'small');
    const fd = await openFd(path, 'wx');
    const writer = new BatchedFileWriter(Promise.resolve(fd), 0);
    const parts = chunks(3, 40 * KiB);
    for (const part of parts) expect(writer.write(part)).toBeUndefined();
    expect((await stat(path)).size).toBe(0); // gathered, not yet written
    await writer.end();
    await closeFd(fd);
    expect(await readFile(path)).toEqual(Buffer.concat(parts));
  });

  it('keeps gathering while a write is slow, makes the producer wait at 1 MiB gathered, and keeps the order', async () => {
    const { reader, fd } = await stalledPipe();
    const writer = new BatchedFileWriter(Promise.resolve(fd), 0);
    const parts = chunks(40, 64 * KiB);
    let waitingAt = -1;
    let room: Promise<void> | undefined;
    for (let i = 0; i < parts.length && !room; i++) {
      room = writer.write(parts[i]);
      if (room) waitingAt = i;
    }
    // The first write (128 KiB, chunks 0-1) is stuck in the pipe; 16 more chunks make 1 MiB gathered.
    expect(waitingAt).toBe(17);
    let roomMade = false;
    void room!.then(() => (roomMade = true));
    await nextTurn();
    expect(roomMade).toBe(false);

    const received: Buffer[] = [];
    const reading = (async () => {
      for await (const data of reader.createReadStream()) received.push(data as Buffer);
    })();
    await room;
    for (const part of parts.slice(waitingAt + 1)) {
      const more = writer.write(part);
      if (more) await more;
    }
    await writer.end();
    await closeFd(fd);
    await reading;
    expect(Buffer.concat(received).equals(Buffer.concat(parts))).toBe(true);
  });

  it('fails the producer waiting for room when the write in flight fails, and reports the error at the end', async () => {
    const { reader, fd } = await stalledPipe();
    const writer = new BatchedFileWriter(Promise.resolve(fd), 0);
    let room: Promise<void> | undefined;
    for (const part of chunks(40, 64 * KiB)) {
      room = writer.write(part);
      if (room) break;
    }
    await reader.close(); // the blocked write now fails with EPIPE
    await expect(room).rejects.toMatchObject({ code: 'EPIPE' });
    await expect(writer.write(Buffer.alloc(1))).rejects.toMatchObject({ code: 'EPIPE' });
    await expect(writer.end()).rejects.toMatchObject({ code: 'EPIPE' });
    await expect(writer.settle()).resolves.toBeUndefined();
    await closeFd(fd);
  });

  it('fails at the end when the file could not be opened', async () => {
    const opening = openFd(join(root, 'missing', 'file'), 'wx');
    const writer = new BatchedFileWriter(opening, 0);
    const first = writer.write(Buffer.alloc(256 * KiB)); // starts a write on the failed descriptor
    expect(first).toBeUndefined();
    await expect(writer.end()).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(writer.settle()).resolves.toBeUndefined();
  });
});
