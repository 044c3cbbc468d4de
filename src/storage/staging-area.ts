import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { newUploadId } from '../domain/upload-id.js';
import { FileTooLargeError } from '../domain/errors/file-too-large.error.js';
import { InsufficientStorageError } from '../domain/errors/insufficient-storage.error.js';
import type { UploadTooSlowError } from '../domain/errors/upload-too-slow.error.js';
import { type SlowClientLimits, watchTransferRate } from '../domain/slow-client.js';
import { UploadError } from '../domain/errors/upload.error.js';
import { type ContentHash, HashThread, inlineHash } from './content-hash.js';
import { resolveContentType, SNIFF_BYTES } from './content-type.js';
import {
  allOrFirstError,
  BatchedFileWriter,
  STREAM_FLUSH_BYTES,
  closeFd,
  isNotFound,
  mkdirDurable,
  mkdirp,
  openFd,
  removeFile,
  syncDir,
} from '../common/durable-fs.js';
import { StorageError } from '../domain/errors/storage.error.js';

/** A file fully received into staging: its bytes are on disk under `id`. */
export interface StagedFile {
  id: string;
  size: number;
  sha256: string;
  mimeType: string;
}

export interface StagedEntry {
  id: string;
  size: number;
  mtimeMs: number;
}

export interface ReceiveOptions {
  declaredMimeType?: string;
  maxBytes: number;
  allowedMimeTypes: readonly string[];
  /** Abort with `UploadTooSlowError` when fewer bytes than this arrive in a window. */
  slowClient?: SlowClientLimits;
  /** About how many bytes are coming (an HTTP request's Content-Length), when known. */
  sizeHint?: number;
}

/**
 * From this size on, SHA-256 runs on a helper thread: hashing costs the event loop about as much
 * as everything else an upload needs, and below this the hand-off costs more than it saves.
 */
export const HASH_THREAD_MIN_BYTES = 8 * 1024 * 1024;

/**
 * The durable landing area for incoming bytes. Each upload streams into one file named by its
 * id, hashed and measured on the way, so the bytes are read exactly once and never held whole.
 */
export class StagingArea {
  private readonly hashThread = HashThread.useful() ? new HashThread() : undefined;
  private staged = 0;

  constructor(
    readonly dir: string,
    private readonly durable: boolean,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.hashThread?.close();
  }

  async init(): Promise<void> {
    if (this.durable) await mkdirDurable(this.dir);
    else await mkdirp(this.dir);
  }

  /** Bytes this process has staged since it started (never decreases): cheap to read per upload. */
  get bytesStaged(): number {
    return this.staged;
  }

  pathOf(id: string): string {
    return join(this.dir, id);
  }

  async receive(source: AsyncIterable<Buffer> & Partial<Pick<Readable, 'destroy'>>, options: ReceiveOptions): Promise<StagedFile> {
    const id = newUploadId();
    const path = this.pathOf(id);
    // Opened while the first bytes arrive rather than before reading them.
    const opening = openFd(path, 'wx');
    opening.catch(() => undefined);
    const hash = this.hashFor(options.sizeHint);
    let size = 0;
    let head: Buffer[] | undefined = [];
    let mimeType: string | undefined;
    let digest: string;
    const writer = new BatchedFileWriter(opening, this.durable ? STREAM_FLUSH_BYTES : 0);
    // A trickling or stalled source is destroyed; its error is the one the client gets.
    let tooSlow: UploadTooSlowError | undefined;
    const stopWatching = watchTransferRate(
      () => size,
      options.slowClient,
      (error) => source.destroy?.((tooSlow = error)),
    );
    try {
      for await (const chunk of source) {
        size += chunk.length;
        if (size > options.maxBytes) throw new FileTooLargeError(options.maxBytes);
        const hashing = hash.update(chunk);
        if (hashing) await hashing;
        if (head) {
          head.push(chunk);
          if (size >= SNIFF_BYTES) {
            // Only the leading SNIFF_BYTES, as the resumable path judges: the same type however the
            // bytes were chunked, and a large first chunk is not copied whole.
            const leading = Buffer.concat(head, SNIFF_BYTES);
            mimeType = await resolveContentType(leading, options.declaredMimeType, options.allowedMimeTypes);
            head = undefined;
          }
        }
        const writing = writer.write(chunk);
        if (writing) await writing;
      }
      mimeType ??= await resolveContentType(Buffer.concat(head ?? []), options.declaredMimeType, options.allowedMimeTypes);
      // The file's bytes and its directory entry are independent: sync both at once.
      const digesting = hash.digest();
      const syncingDir = this.durable ? [opening.then(() => syncDir(this.dir))] : [];
      await allOrFirstError([digesting, writer.end(this.durable), ...syncingDir]);
      digest = await digesting;
      await closeFd(await opening);
    } catch (err) {
      source.destroy?.();
      hash.abort();
      await writer.settle(); // nothing may still use the descriptor once it is closed
      const fd = await opening.catch(() => undefined);
      if (fd !== undefined) await closeFd(fd).catch(() => undefined);
      await removeFile(path);
      throw toReceiveError(tooSlow ?? err);
    } finally {
      stopWatching();
    }
    this.staged += size;
    return { id, size, sha256: digest, mimeType };
  }

  private hashFor(sizeHint: number | undefined): ContentHash {
    return this.hashThread && sizeHint !== undefined && sizeHint >= HASH_THREAD_MIN_BYTES ? this.hashThread.hash() : inlineHash();
  }

  open(id: string): Readable {
    return createReadStream(this.pathOf(id));
  }

  async exists(id: string): Promise<boolean> {
    try {
      await stat(this.pathOf(id));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /**
   * Whether the staged file is there, asked twice: a network file system may cache "no such file"
   * for a while, and listing the directory revalidates it. For the rare path where a store found nothing.
   */
  async visible(id: string): Promise<boolean> {
    return (await this.exists(id)) || (await readdir(this.dir)).includes(id);
  }

  async discard(id: string): Promise<void> {
    await removeFile(this.pathOf(id));
  }

  /** Every staged file with its size and age, for recovery, reconciliation and backpressure. */
  async list(): Promise<StagedEntry[]> {
    const names = await readdir(this.dir);
    const entries = await Promise.all(
      names.map(async (id) => {
        try {
          const info = await stat(this.pathOf(id));
          return { id, size: info.size, mtimeMs: info.mtimeMs };
        } catch {
          return undefined; // removed while we looked
        }
      }),
    );
    return entries.filter((e): e is StagedEntry => e !== undefined);
  }
}

function toReceiveError(err: unknown): Error {
  if (err instanceof UploadError) return err;
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new InsufficientStorageError();
  if (typeof code === 'string' && code.startsWith('E')) return StorageError.from(err, 'stage upload');
  return err instanceof Error ? err : new Error(String(err));
}
