import { close, fdatasync, fsync, open, unlink, writev } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';

// Plain numeric-fd calls: on the per-upload hot path fs/promises' FileHandle costs measurably more.
export const openFd = promisify(open) as (path: string, flags: string) => Promise<number>;
export const fsyncFd = promisify(fsync);
const fdatasyncFd = promisify(fdatasync);
export const closeFd = promisify(close);
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

/** A write starts once this many bytes are gathered (or at the end): a small file costs one write. */
const WRITE_BATCH_BYTES = 128 * 1024;
/** The producer waits while this many bytes are gathered behind the write in flight. */
const MAX_GATHERED_BYTES = 1024 * 1024;
/**
 * How often a durable writer of one long stream flushes what it wrote, in the background. Each
 * flush of a growing file also commits the filesystem journal: at 16 MiB, 64 commits per GiB cost a
 * 1 GiB upload about a tenth of its speed; 64 MiB bounds what the final fsync must write at far less.
 */
export const STREAM_FLUSH_BYTES = 64 * 1024 * 1024;
/**
 * Up to two background flushes at once: a second one starts the writeback of newer bytes while the
 * first waits for its journal commit, so frequent flushes keep up with bytes arriving at network speed.
 */
const FLUSHES_IN_FLIGHT = 2;

/**
 * Streams chunks to a file with one write in flight at a time. While it runs, the next chunks are
 * gathered, and when it completes they all go out in one writev: the slower the disk, the larger
 * (and fewer) the writes, and the producer waits only when 1 MiB is gathered. Per file, memory is
 * at most the write in flight plus what is gathered. With `flushEvery`, written bytes are flushed
 * in the background as they accumulate, so a final fsync finds little left instead of the whole file.
 */
export class BatchedFileWriter {
  private batch: Buffer[] = [];
  private batched = 0;
  /** The write in flight; it never rejects (a failure is kept in `failure`). */
  private inFlight?: Promise<void>;
  private failure?: { error: Error };
  private waiting?: { resolve: () => void; reject: (err: unknown) => void };
  private readonly flushes: Promise<void>[] = [];
  /** Background flushes running; see `FLUSHES_IN_FLIGHT`. */
  private flushing = 0;
  private unflushed = 0;

  /** `fd` may still be opening: the first write waits for it. */
  constructor(
    private readonly fd: Promise<number>,
    /** Bytes between background flushes (fdatasync), or 0 for none. */
    private readonly flushEvery: number,
  ) {}

  /** Queues `chunk`; a promise, when there is one, must be awaited before the next write. */
  write(chunk: Buffer): Promise<void> | undefined {
    if (this.failure) return Promise.reject(this.failure.error);
    this.batch.push(chunk);
    this.batched += chunk.length;
    if (!this.inFlight && this.batched >= WRITE_BATCH_BYTES) this.startWrite();
    if (this.batched < MAX_GATHERED_BYTES) return undefined;
    return new Promise<void>((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  /**
   * Writes what is left and waits for every write and flush; throws the first error. With `sync`,
   * the file is then fsynced (data and size) while a background flush may still run: the final
   * flush only has to wait for what that one has not written yet, instead of for it whole.
   */
  async end(sync = false): Promise<void> {
    const fd = await this.fd;
    await this.idle();
    let rest = this.failure ? Promise.reject(this.failure.error) : writeAll(fd, this.batch);
    if (sync) rest = rest.then(() => fsyncFd(fd));
    this.batch = [];
    this.batched = 0;
    await allOrFirstError([rest, ...this.flushes]);
  }

  /** After a failure: waits until nothing uses the descriptor any more, so it can be closed. */
  async settle(): Promise<void> {
    await this.idle();
    await Promise.allSettled(this.flushes);
  }

  private async idle(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }

  private startWrite(): void {
    const batch = this.batch;
    this.unflushed += this.batched;
    this.batch = [];
    this.batched = 0;
    this.inFlight = this.fd
      .then((fd) => writeAll(fd, batch))
      .then(
        () => this.written(),
        (err: unknown) => this.failed(err),
      );
  }

  private written(): void {
    this.inFlight = undefined;
    if (this.flushEvery > 0 && this.unflushed >= this.flushEvery && this.flushing < FLUSHES_IN_FLIGHT) {
      this.unflushed = 0;
      this.flushing += 1;
      const flush = this.fd.then((fd) => fdatasyncFd(fd)).finally(() => (this.flushing -= 1));
      flush.catch(() => undefined); // awaited by end/settle
      this.flushes.push(flush);
    }
    // Everything gathered goes out at once, so a waiting producer has room again.
    if (this.batched >= WRITE_BATCH_BYTES) this.startWrite();
    this.wakeProducer();
  }

  private failed(err: unknown): void {
    this.inFlight = undefined;
    this.failure = { error: err as Error }; // fs errors, kept as they are (their code matters)
    this.wakeProducer();
  }

  /** Lets a waiting producer go on, or fails it with the write's error. */
  private wakeProducer(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    if (this.failure) waiting?.reject(this.failure.error);
    else waiting?.resolve();
  }
}

/** Waits for every operation (so none still runs on a closed fd), then fails with the first error. */
export async function allOrFirstError(work: Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(work)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/**
 * Open read-only descriptors of the directories we sync, so a directory fsync is one call instead
 * of open + fsync + close. Bounded: past the limit the oldest is dropped, and closed once no fsync
 * uses it. A directory removed and made again must be dropped with `forgetDir`, or its old
 * descriptor would sync the wrong inode.
 */
interface DirFd {
  fd: Promise<number>;
  users: number;
  dropped: boolean;
}
const dirFds = new Map<string, DirFd>();
const MAX_DIR_FDS = 512;

/** Drops the cached descriptor of `dir`; see `dirFds`. */
export function forgetDir(dir: string): void {
  const entry = dirFds.get(dir);
  if (!entry) return;
  dirFds.delete(dir);
  entry.dropped = true;
  if (entry.users === 0) closeDirFd(entry);
}

function closeDirFd(entry: DirFd): void {
  void entry.fd.then((fd) => closeFd(fd)).catch(() => undefined);
}

async function fsyncDirNow(dir: string): Promise<void> {
  let entry = dirFds.get(dir);
  if (!entry) {
    entry = { fd: openFd(dir, 'r'), users: 0, dropped: false };
    dirFds.set(dir, entry);
    if (dirFds.size > MAX_DIR_FDS) forgetDir(dirFds.keys().next().value!);
  }
  entry.users += 1;
  try {
    await fsyncFd(await entry.fd);
  } catch (err) {
    if (dirFds.get(dir) === entry) forgetDir(dir); // e.g. not opened: try afresh next time
    throw err;
  } finally {
    entry.users -= 1;
    if (entry.dropped && entry.users === 0) closeDirFd(entry);
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
  state.next ??= state.running.then(ignore, ignore).then(() => startDirSync(dir));
  return state.next;
}

function startDirSync(dir: string): Promise<void> {
  const state = { running: fsyncDirNow(dir) };
  dirSyncs.set(dir, state);
  void state.running.then(ignore, ignore).then(() => {
    if (dirSyncs.get(dir) === state) dirSyncs.delete(dir);
  });
  return state.running;
}

/** A group sync's outcome belongs to its callers; the chain only needs to know it ended. */
function ignore(): void {}

/**
 * `mkdir -p` whose result survives a power loss: a new directory's entry lives in its parent, so the
 * parent of every directory made is synced. The parent of `dir` is synced even when `dir` already
 * existed, since the process that made it may have died before syncing; callers do this once per
 * directory and process.
 */
export async function mkdirDurable(dir: string): Promise<void> {
  await syncMadeDirs(dir, await mkdirp(dir));
}

/**
 * `mkdir -p` that reports the error that really happened. Node's `mkdir(dir, { recursive: true })`
 * answers a failure such as EIO with the ENOENT of a stat it makes afterwards (seen on Node 20 with a
 * disk failing under a FUSE layer), and ENOENT reads as a permanent "not found" where a transient
 * disk error should be retried. Resolves to the first directory it made, as Node's does.
 */
export async function mkdirp(dir: string): Promise<string | undefined> {
  const made = await mkdirOne(dir);
  if (made !== MISSING_PARENT) return made;
  const first = await mkdirp(dirname(dir));
  return (await mkdirOne(dir)) === undefined ? first : (first ?? dir);
}

const MISSING_PARENT = Symbol('missing parent');

async function mkdirOne(dir: string): Promise<string | undefined | typeof MISSING_PARENT> {
  try {
    await mkdir(dir);
    return dir;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && (await stat(dir)).isDirectory()) return undefined;
    if (code === 'ENOENT' && dirname(dir) !== dir) return MISSING_PARENT;
    throw err;
  }
}

/** The syncs of `mkdirDurable`, for a caller that ran `mkdirp(dir)` itself (`first`: what it resolved to). */
export async function syncMadeDirs(dir: string, first: string | undefined): Promise<void> {
  const parents = [dirname(dir)];
  for (let made = dir; first !== undefined && made !== first && dirname(made) !== made;) {
    made = dirname(made);
    parents.push(dirname(made));
  }
  await allOrFirstError(parents.map((parent) => syncDir(parent)));
}

export function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOENT';
}
