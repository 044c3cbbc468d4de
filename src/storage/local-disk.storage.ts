import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, open, opendir, readdir, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { StorageError } from '../domain/errors/storage.error.js';
import type { ByteRange, ExpectedContent, StorageBackend } from './storage-backend.interface.js';
import {
  allOrFirstError,
  BatchedFileWriter,
  STREAM_FLUSH_BYTES,
  closeFd,
  forgetDir,
  isNotFound,
  mkdirDurable,
  mkdirp,
  openFd,
  removeFile,
  syncDir,
} from '../common/durable-fs.js';

const SAFE_KEY = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
/** A UUIDv7, as every upload id is: its first 12 hex digits are its creation time in ms. */
const TIME_ORDERED = /^[0-9a-f]{8}-[0-9a-f]{4}-7/;

/**
 * The shard directory of a key. For an upload id it is the id's 7th and 8th hex digits, bits 24-31
 * of its creation time: they change every 65.5 s and come round every 4.7 h. Uploads that arrive
 * together land in one shard and share the directory syncs that make their names durable (group
 * commit in `syncDir`); a shard picked by random digits gave nearly every upload a directory fsync of
 * its own, and a disk does only so many of those a second. Over hours, files still spread evenly
 * over the 256 shards. Any other key is sharded by its last two characters.
 */
export function shardOf(key: string): string {
  return TIME_ORDERED.test(key) ? key.slice(6, 8) : key.slice(-2);
}

/** Where releases before the time-ordered layout put an upload id's file, when that differs. */
function earlierShardOf(key: string): string | undefined {
  const earlier = key.slice(-2);
  return earlier === shardOf(key) ? undefined : earlier;
}
/** Temp files of puts in progress; what crashed puts leave here goes in `sweepIncomplete`. */
const INCOMPLETE = '.incomplete';

/**
 * Stored bytes as plain files under `<root>/<shard>/<key>` (see `shardOf`). Files that an earlier
 * release stored under the last two characters of their id are still found there.
 */
export class LocalDiskStorage implements StorageBackend {
  /** Directories known to exist: saves a mkdir per put on the hot path. */
  private readonly made = new Set<string>();

  constructor(
    private readonly root: string,
    private readonly durable: boolean,
  ) {}

  pathOf(key: string): string {
    // Keys are ids we generate; the check keeps a bug elsewhere from ever turning into a traversal.
    if (!SAFE_KEY.test(key)) throw new StorageError('INVALID_KEY', `Invalid storage key ${JSON.stringify(key)}`);
    return join(this.shardOf(key), key);
  }

  private shardOf(key: string): string {
    return join(this.root, shardOf(key));
  }

  /** The key's file where an earlier release stored it, when that is another path. */
  private earlierPathOf(key: string): string | undefined {
    const shard = earlierShardOf(key);
    return shard === undefined ? undefined : join(this.root, shard, key);
  }

  /** Runs `at` on the key's path, and on its earlier path when the first is not there. */
  private async atEitherPath<T>(key: string, at: (path: string) => Promise<T>): Promise<T> {
    const path = this.pathOf(key);
    try {
      return await at(path);
    } catch (err) {
      const earlier = this.earlierPathOf(key);
      if (!isNotFound(err) || earlier === undefined) throw err;
      return at(earlier);
    }
  }

  async put(key: string, body: Readable, expected: ExpectedContent, signal?: AbortSignal): Promise<void> {
    this.pathOf(key); // rejects a bad key before anything touches the disk
    const incomplete = join(this.root, INCOMPLETE);
    const temp = join(incomplete, `${key}.${randomUUID()}.tmp`);
    let fd: number | undefined;
    let writer: BatchedFileWriter | undefined;
    try {
      // Temps of earlier, crashed puts of this key are left to sweepIncomplete: no readdir per put.
      await this.ensureDir(incomplete);
      await this.ensureDir(this.shardOf(key));
      const opening = openFd(temp, 'wx');
      fd = await opening;
      // Batched and pipelined like staging; a large copy is flushed as it goes when durable.
      writer = new BatchedFileWriter(opening, this.durable ? STREAM_FLUSH_BYTES : 0);
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of body as AsyncIterable<Buffer>) {
        signal?.throwIfAborted();
        hash.update(chunk);
        size += chunk.length;
        const writing = writer.write(chunk);
        if (writing) await writing;
      }
      // Judged before the copy is flushed whole, as resumable chunks are: a mismatch is thrown away.
      const sha256 = hash.digest('hex');
      if (size !== expected.size || sha256 !== expected.sha256) {
        throw new StorageError(
          'CONTENT_MISMATCH',
          `Staged bytes do not match what was received (size ${size}/${expected.size}, sha256 ${sha256}/${expected.sha256})`,
        );
      }
      await writer.end(this.durable);
      const written = fd;
      fd = undefined;
      await closeFd(written);
      await this.placeInto(temp, key);
      if (this.durable) await syncDir(this.shardOf(key));
    } catch (err) {
      body.destroy();
      await writer?.settle();
      if (fd !== undefined) await closeFd(fd).catch(() => undefined);
      await removeFile(temp).catch(() => undefined);
      throw StorageError.from(err, `store ${key}`);
    }
  }

  async adopt(key: string, sourcePath: string, expected: ExpectedContent): Promise<boolean> {
    const shard = this.shardOf(key);
    try {
      await this.ensureDir(shard);
      // Durable: a link, then the staged name goes only once the new one is durable. A rename changes
      // two directories whose syncs persist separately, and a sync of staging/ by a concurrent upload
      // could persist the removal before the shard's sync persisted the addition. Without durability
      // nothing is synced, so one rename does it (a trip to the thread pool fewer per upload).
      await this.placeInto(sourcePath, key, this.durable ? link : rename).catch(async (err: unknown) => {
        // ENOENT: an earlier attempt placed it and removed the source, then stopped short. EEXIST: an
        // earlier attempt placed it, or a power loss kept both names of the file.
        if (!(isNotFound(err) || (err as NodeJS.ErrnoException).code === 'EEXIST') || !(await this.holds(key, expected))) throw err;
      });
      if (!this.durable) return true;
      // The bytes were made durable when staged; only the new directory entry needs syncing.
      await syncDir(shard);
      await removeFile(sourcePath);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EXDEV') return false;
      throw StorageError.from(err, `store ${key}`);
    }
  }

  /**
   * Whether `key` holds exactly `expected`, at its path or where an earlier release put it: read in
   * full, so only for the rare recovery path.
   */
  private async holds(key: string, expected: ExpectedContent): Promise<boolean> {
    const found = await this.locate(key);
    if (found?.size !== expected.size) return false;
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(found.path) as AsyncIterable<Buffer>) hash.update(chunk);
    return hash.digest('hex') === expected.sha256;
  }

  /** Renames or links `source` to the key's path; a shard directory removed behind our back is made again, once. */
  private async placeInto(source: string, key: string, place: (from: string, to: string) => Promise<void> = rename): Promise<void> {
    const target = this.pathOf(key);
    try {
      await place(source, target);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      const shard = this.shardOf(key);
      this.made.delete(shard);
      forgetDir(shard);
      await this.ensureDir(shard);
      await place(source, target);
    }
  }

  private async ensureDir(dir: string): Promise<void> {
    if (this.made.has(dir)) return;
    // Durable before anything is placed in it: a shard whose own entry is lost loses its files.
    if (this.durable) await mkdirDurable(dir);
    else await mkdirp(dir);
    this.made.add(dir);
  }

  async open(key: string, range?: ByteRange): Promise<Readable> {
    // Open first so a missing file is an error here rather than on the response stream.
    const handle = await this.atEitherPath(key, (path) => open(path, 'r')).catch((err: unknown) => {
      throw StorageError.from(err, `open ${key}`);
    });
    return handle.createReadStream({ start: range?.start, end: range?.end });
  }

  async stat(key: string): Promise<{ size: number } | undefined> {
    const found = await this.locate(key).catch((err: unknown) => {
      throw StorageError.from(err, `stat ${key}`);
    });
    return found && { size: found.size };
  }

  /** The key's file and its size, at its path or its earlier one; undefined when at neither. */
  private async locate(key: string): Promise<{ path: string; size: number } | undefined> {
    try {
      return await this.atEitherPath(key, async (path) => ({ path, size: (await stat(path)).size }));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async sweepIncomplete(before: number): Promise<number> {
    const incomplete = join(this.root, INCOMPLETE);
    const names = await readdir(incomplete).catch((err: unknown) => {
      if (isNotFound(err)) return [] as string[];
      throw StorageError.from(err, 'list incomplete');
    });
    let removed = 0;
    for (const name of names) {
      const path = join(incomplete, name);
      const info = await stat(path).catch(() => undefined);
      if (!info || info.mtimeMs >= before) continue; // gone already, or a put that may still be running
      await removeFile(path);
      removed += 1;
    }
    return removed;
  }

  async *keys(): AsyncIterable<string> {
    const shards = await readdir(this.root).catch((err: unknown) => {
      if (isNotFound(err)) return [] as string[];
      throw StorageError.from(err, 'list');
    });
    for (const shard of shards) {
      if (shard.startsWith('.')) continue;
      // Streamed, not read whole: uploads arriving together share a shard, so one can hold millions.
      const dir = await opendir(join(this.root, shard), { bufferSize: 256 }).catch(() => undefined);
      if (!dir) continue;
      for await (const entry of dir) {
        if (SAFE_KEY.test(entry.name)) yield entry.name;
      }
    }
  }

  async delete(key: string): Promise<void> {
    const paths = [this.pathOf(key), this.earlierPathOf(key)].filter((path) => path !== undefined);
    await allOrFirstError(paths.map((path) => removeFile(path))).catch((err: unknown) => {
      throw StorageError.from(err, `delete ${key}`);
    });
  }
}
