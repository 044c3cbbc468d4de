import { createHash } from 'node:crypto';
import { constants, createReadStream, ftruncate, read, stat } from 'node:fs';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { InsufficientStorageError } from '../domain/errors/insufficient-storage.error.js';
import { StorageError } from '../domain/errors/storage.error.js';
import { UploadError } from '../domain/errors/upload.error.js';
import { type SlowClientLimits, watchTransferRate } from '../domain/slow-client.js';
import { SNIFF_BYTES } from './content-type.js';
import {
  allOrFirstError,
  BatchedFileWriter,
  closeFd,
  fsyncFd,
  isNotFound,
  openFd,
  STREAM_FLUSH_BYTES,
  syncDir,
} from '../common/durable-fs.js';
import type { StagingArea } from './staging-area.js';
import { StagedFileHasher } from './staged-file-hasher.js';

const truncateFd = promisify(ftruncate);
const readFd = promisify(read);
const statPath = promisify(stat);
const openFlags = openFd as unknown as (path: string, flags: number) => Promise<number>;

/**
 * A chunk's bytes are flushed in the background every this many bytes while it arrives, so that
 * when its last byte is in, its fsync (which the answer waits for) finds little left to write: 1 GiB
 * in 8 MiB PATCHes went from about 360 to 450-550 MB/s (bench/tus.mjs; flushing only at the end, a
 * chunk waited about 7.5 ms for its fsync, now 3-4 ms).
 */
const CHUNK_FLUSH_BYTES = 1024 * 1024;

/**
 * A chunk's bytes, typically an HTTP request. `destroy` cuts a too-slow one off; `read` gives what a
 * stream still buffers after a drop, which its iterator no longer yields.
 */
export type ChunkSource = AsyncIterable<Buffer> & Partial<Pick<Readable, 'destroy' | 'read'>>;

/** A checksum of one chunk, as the client sent it: the algorithm's name and the raw digest. */
export interface ChunkChecksum {
  algorithm: 'sha1' | 'sha256' | 'md5';
  digest: Buffer;
}

export interface AppendOptions {
  /**
   * Where the upload stands is the file's length, unless a chunk left unverified by a crash must be
   * cut away first: then it stands at `cutTo`.
   */
  cutTo?: number;
  /**
   * Told where the upload stands once the file is open, before a byte is read; may refuse the chunk
   * by throwing (e.g. the client named another offset). Nothing is changed then.
   */
  begin: (offset: number) => Promise<void> | void;
  /** The most the upload may hold, with this chunk; past it `tooLarge()` is thrown and the chunk dropped. */
  maxTotal: number;
  tooLarge: () => UploadError;
  /** Verified once the chunk is in; a mismatch drops the chunk. */
  checksum?: ChunkChecksum;
  mismatch?: () => UploadError;
  /**
   * Judges the file's leading bytes once `SNIFF_BYTES` of them are known, when the chunk starts
   * before them; a rejection drops the chunk and is thrown.
   */
  sniff?: (head: Buffer) => Promise<void>;
  /** A chunk trickling in slower than this is cut off (its source destroyed with `UploadTooSlowError`). */
  slowClient?: SlowClientLimits;
  /** Whether an error that cuts the chunk short keeps the bytes that arrived before it (a dropped connection). */
  keepOnError: (err: unknown) => boolean;
}

export interface AppendResult {
  /** Where the chunk started: the upload's offset before it. */
  offset: number;
  /** Bytes appended and, with durability, on stable storage. */
  appended: number;
  /** Leading bytes gathered but fewer than `SNIFF_BYTES`: the caller judges them when the upload ends. */
  head?: Buffer;
  /** Why the chunk ended early, when the bytes before it were kept. */
  interruptedBy?: unknown;
}

/**
 * The files of resumable uploads, in the same staging area as one-request uploads (`staging/<id>`),
 * so a finished one is stored exactly like them. Each chunk is appended after the upload's recorded
 * offset; anything past that offset (a chunk cut off by a crash before it was acknowledged) is cut
 * away first, so the file always continues exactly where the acknowledged bytes end.
 */
export class ResumableStaging {
  /** Whole-file SHA-256s, computed in the background as chunks are acknowledged. */
  readonly hasher: StagedFileHasher;

  constructor(
    private readonly staging: StagingArea,
    private readonly durable: boolean,
  ) {
    this.hasher = new StagedFileHasher((id) => staging.pathOf(id));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.hasher.close();
  }

  /** A new, empty file for `id`, its directory entry durable. */
  async create(id: string): Promise<void> {
    const fd = await openFd(this.staging.pathOf(id), 'wx');
    try {
      if (this.durable) await allOrFirstError([fsyncFd(fd), syncDir(this.staging.dir)]);
    } finally {
      await closeFd(fd);
    }
  }

  /** Bytes on disk for `id`, or undefined when there is no file. */
  async size(id: string): Promise<number | undefined> {
    // One stat by path: a HEAD is answered after a single trip to the thread pool, not three (open, fstat, close).
    try {
      return (await statPath(this.staging.pathOf(id))).size;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /**
   * Appends `source` where the upload stands (see `AppendOptions`). Resolves once the bytes are
   * written and, with durability, flushed (data and file size): the file's length is then the new,
   * durable offset. A rejection leaves the file where the chunk started.
   */
  async append(id: string, source: ChunkSource, options: AppendOptions): Promise<AppendResult> {
    const { fd, size } = await openWithSize(this.staging.pathOf(id));
    let offset: number | undefined;
    let appended = 0;
    const writer = new BatchedFileWriter(Promise.resolve(fd), this.durable ? CHUNK_FLUSH_BYTES : 0);
    const checksum = options.checksum ? createHash(options.checksum.algorithm) : undefined;
    try {
      const start = options.cutTo ?? size;
      if (size < start) throw new StorageError('CONTENT_MISSING', `staged bytes of ${id} end at ${size}, before ${start}`);
      await options.begin(start);
      offset = start;
      if (size > start) await truncateFd(fd, start);
      let head = options.sniff && start < SNIFF_BYTES ? [await readAt(fd, start, 0)] : undefined;
      let headBytes = head?.[0].length ?? 0;
      let interruptedBy: unknown;
      const stopWatching = watchTransferRate(
        () => appended,
        options.slowClient,
        (error) => source.destroy?.(error),
      );
      const take = async (chunk: Buffer): Promise<void> => {
        if (start + appended + chunk.length > options.maxTotal) throw options.tooLarge();
        appended += chunk.length;
        checksum?.update(chunk);
        if (head) {
          head.push(chunk);
          headBytes += chunk.length;
          if (headBytes >= SNIFF_BYTES) {
            const leading = Buffer.concat(head, SNIFF_BYTES); // copies no more than it judges
            head = undefined;
            await options.sniff!(leading);
          }
        }
        const writing = writer.write(chunk);
        if (writing) await writing;
      };
      try {
        for await (const chunk of source) await take(chunk);
      } catch (err) {
        if (!options.keepOnError(err)) throw err;
        interruptedBy = err;
        // A stream's async iterator stops at `destroy` without yielding what was already buffered,
        // and those bytes did arrive: a connection that drops while a write is awaited left them there.
        for (let chunk = readBuffered(source); chunk; chunk = readBuffered(source)) await take(chunk);
      } finally {
        stopWatching();
      }
      // A chunk whose checksum fails is dropped, so it is judged before it is flushed whole.
      const verified = !checksum || checksum.digest().equals(options.checksum!.digest);
      await writer.end(this.durable && verified);
      if (!verified) throw options.mismatch!();
      void closeFd(fd).catch(() => undefined); // nothing waits on it: the bytes are durable
      return { offset: start, appended, head: head && Buffer.concat(head), interruptedBy };
    } catch (err) {
      // `source` is left to its owner: an HTTP request is drained after the answer, not cut off before it.
      await writer.settle();
      // Nothing of a rejected chunk stays: the next one starts where the acknowledged bytes end.
      if (offset !== undefined) await truncateFd(fd, offset).catch(() => undefined);
      await closeFd(fd).catch(() => undefined);
      throw toAppendError(err);
    }
  }

  /** The first `bytes` of the file (fewer when it is shorter). */
  async readHead(id: string, bytes = SNIFF_BYTES): Promise<Buffer> {
    const fd = await openFd(this.staging.pathOf(id), 'r');
    try {
      return await readAt(fd, bytes, 0);
    } finally {
      await closeFd(fd);
    }
  }

  /**
   * Writes the files of `parts` one after another into a new file `id`, durably, and hashes it on
   * the way. A failure leaves no file `id`.
   */
  async concatenate(id: string, parts: readonly string[]): Promise<{ size: number; sha256: string }> {
    const path = this.staging.pathOf(id);
    const opening = openFd(path, 'wx');
    const writer = new BatchedFileWriter(opening, this.durable ? STREAM_FLUSH_BYTES : 0);
    const hash = createHash('sha256');
    let size = 0;
    try {
      for (const part of parts) {
        for await (const chunk of createReadStream(this.staging.pathOf(part), { highWaterMark: 1024 * 1024 })) {
          size += (chunk as Buffer).length;
          hash.update(chunk as Buffer);
          const writing = writer.write(chunk as Buffer);
          if (writing) await writing;
        }
      }
      await writer.end();
      const fd = await opening;
      if (this.durable) await allOrFirstError([fsyncFd(fd), syncDir(this.staging.dir)]);
      await closeFd(fd);
    } catch (err) {
      await writer.settle();
      const fd = await opening.catch(() => undefined);
      if (fd !== undefined) await closeFd(fd).catch(() => undefined);
      await this.staging.discard(id);
      throw toAppendError(err);
    }
    return { size, sha256: hash.digest('hex') };
  }
}

/**
 * One descriptor for a whole chunk (every call on it is a trip to the thread pool), and the file's
 * length, asked for at the same time: the caller holds the upload's lock, so nothing appends in
 * between. The two trips in turn cost a chunk 1.4-1.9 ms before its first byte was written on a
 * loaded 2-core VM (8 MiB PATCHes, timed in a scratch build), at once 0.9-1.0 ms.
 */
async function openWithSize(path: string): Promise<{ fd: number; size: number }> {
  const [opened, statted] = await Promise.allSettled([openFlags(path, constants.O_RDWR | constants.O_APPEND), statPath(path)]);
  if (opened.status === 'rejected') throw opened.reason;
  if (statted.status === 'rejected') {
    await closeFd(opened.value).catch(() => undefined);
    throw statted.reason;
  }
  return { fd: opened.value, size: statted.value.size };
}

/** What a (possibly destroyed) stream still holds in its buffer, or null. */
function readBuffered(source: ChunkSource): Buffer | null {
  return (source.read?.() as Buffer | null | undefined) ?? null;
}

/** Up to `bytes` bytes of `fd` from `position`. */
async function readAt(fd: number, bytes: number, position: number): Promise<Buffer> {
  if (bytes === 0) return Buffer.alloc(0);
  const buffer = Buffer.alloc(bytes);
  const { bytesRead } = await readFd(fd, buffer, 0, bytes, position);
  return buffer.subarray(0, bytesRead);
}

function toAppendError(err: unknown): Error {
  if (err instanceof UploadError || err instanceof StorageError) return err;
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new InsufficientStorageError();
  if (typeof code === 'string' && code.startsWith('E')) return StorageError.from(err, 'append to a resumable upload');
  return err instanceof Error ? err : new Error(String(err));
}
