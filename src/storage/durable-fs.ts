import { randomUUID } from 'node:crypto';
import { close, fsync, open, rename, rm, unlink, write, writev } from 'node:fs';
import { dirname } from 'node:path';
import { promisify } from 'node:util';

// Plain numeric-fd calls: on the per-upload hot path fs/promises' FileHandle costs measurably more.
export const openFd = promisify(open) as (path: string, flags: string) => Promise<number>;
export const fsyncFd = promisify(fsync);
export const closeFd = promisify(close);
const renamePath = promisify(rename);
const rmPath = promisify(rm);
const writeFd = promisify(write) as (fd: number, data: string | Uint8Array) => Promise<{ bytesWritten: number }>;
const writevFd = promisify(writev);
const unlinkPath = promisify(unlink);

/** Removes one file, if it is there: a single unlink, where `rm({ force })` costs an extra lstat. */
export async function removeFile(path: string): Promise<void> {
  await unlinkPath(path).catch((err: unknown) => {
    if (!isNotFound(err)) throw err;
  });
}

/** Writes every buffer to `fd` at its current position (writev may write less than asked). */
export async function writeAll(fd: number, chunks: Buffer[]): Promise<void> {
  let pending = chunks;
  while (pending.length > 0) {
    let written = (await writevFd(fd, pending)).bytesWritten;
    const rest: Buffer[] = [];
    for (const chunk of pending) {
      if (written >= chunk.length) written -= chunk.length;
      else {
        rest.push(written > 0 ? chunk.subarray(written) : chunk);
        written = 0;
      }
    }
    pending = rest;
  }
}

async function closeQuietly(fd: number): Promise<void> {
  await closeFd(fd).catch(() => undefined);
}

async function fsyncPath(path: string): Promise<void> {
  const fd = await openFd(path, 'r');
  try {
    await fsyncFd(fd);
  } finally {
    await closeQuietly(fd);
  }
}

/** Per directory: the fsync running now, and the one that callers arriving meanwhile will share. */
const dirSyncs = new Map<string, { running: Promise<void>; next?: Promise<void> }>();

/**
 * fsync a directory so a rename or create inside it survives a power loss. Group commit: a caller
 * cannot rely on an fsync that started before its change, but every caller arriving while one runs
 * shares the single fsync started after it, so N concurrent uploads cost ~2 directory fsyncs, not N.
 */
export function syncDir(dir: string): Promise<void> {
  const state = dirSyncs.get(dir);
  if (!state) return startDirSync(dir);
  state.next ??= state.running.then(settle, settle).then(() => startDirSync(dir));
  return state.next;
}

function startDirSync(dir: string): Promise<void> {
  const state = { running: fsyncPath(dir) };
  dirSyncs.set(dir, state);
  void state.running.then(settle, settle).then(() => {
    if (dirSyncs.get(dir) === state) dirSyncs.delete(dir);
  });
  return state.running;
}

function settle(): void {}

/**
 * Write-temp-then-rename: readers see the old or the new document, never half of one. `durable`:
 * `true` survives a power loss; `'contents'` syncs only the bytes, so after a power loss the path
 * holds the old or the new document whole, but may have gone back to the old one.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, durable: boolean | 'contents'): Promise<void> {
  const temp = `${path}.${randomUUID()}.tmp`;
  const fd = await openFd(temp, 'wx');
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    let offset = 0;
    while (offset < bytes.length) offset += (await writeFd(fd, bytes.subarray(offset))).bytesWritten;
    if (durable) await fsyncFd(fd);
  } catch (err) {
    await closeQuietly(fd);
    await rmPath(temp, { force: true });
    throw err;
  }
  await closeFd(fd);
  try {
    await renamePath(temp, path);
  } catch (err) {
    await rmPath(temp, { force: true });
    throw err;
  }
  if (durable === true) await syncDir(dirname(path));
}

export function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOENT';
}
