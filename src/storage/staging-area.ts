import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { v7 as uuidv7 } from 'uuid';
import { FileTooLargeError } from '../uploads/errors/file-too-large.error.js';
import { InsufficientStorageError } from '../uploads/errors/insufficient-storage.error.js';
import { UploadError } from '../uploads/errors/upload.error.js';
import { resolveContentType, SNIFF_BYTES } from './content-type.js';
import { isNotFound, syncDir } from './durable-fs.js';
import { StorageError } from './storage.error.js';

/** A file fully received into staging: its bytes are on disk under `id`. */
export interface StagedFile {
  id: string;
  size: number;
  sha256: string;
  mimeType: string;
}

export interface ReceiveOptions {
  declaredMimeType?: string;
  maxBytes: number;
  allowedMimeTypes: readonly string[];
}

/**
 * The durable landing area for incoming bytes. Each upload streams into one file named by its
 * id, hashed and measured on the way, so the bytes are read exactly once and never held whole.
 */
export class StagingArea {
  constructor(
    readonly dir: string,
    private readonly durable: boolean,
  ) {}

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  pathOf(id: string): string {
    return join(this.dir, id);
  }

  async receive(source: AsyncIterable<Buffer> & Partial<Pick<Readable, 'destroy'>>, options: ReceiveOptions): Promise<StagedFile> {
    const id = uuidv7();
    const path = this.pathOf(id);
    const handle = await open(path, 'wx');
    const hash = createHash('sha256');
    let size = 0;
    let head: Buffer[] | undefined = [];
    let mimeType: string | undefined;
    try {
      for await (const chunk of source) {
        size += chunk.length;
        if (size > options.maxBytes) throw new FileTooLargeError(options.maxBytes);
        hash.update(chunk);
        if (head) {
          head.push(chunk);
          if (size >= SNIFF_BYTES) {
            mimeType = await resolveContentType(Buffer.concat(head), options.declaredMimeType, options.allowedMimeTypes);
            head = undefined;
          }
        }
        await handle.write(chunk);
      }
      mimeType ??= await resolveContentType(Buffer.concat(head ?? []), options.declaredMimeType, options.allowedMimeTypes);
      if (this.durable) await handle.sync();
      await handle.close();
      if (this.durable) await syncDir(this.dir);
    } catch (err) {
      source.destroy?.();
      await handle.close().catch(() => undefined);
      await rm(path, { force: true });
      throw toReceiveError(err);
    }
    return { id, size, sha256: hash.digest('hex'), mimeType };
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

  async discard(id: string): Promise<void> {
    await rm(this.pathOf(id), { force: true });
  }

  /** Ids of every staged file, with its age, for recovery and reconciliation. */
  async list(): Promise<Array<{ id: string; mtimeMs: number }>> {
    const names = await readdir(this.dir);
    const entries = await Promise.all(
      names.map(async (id) => {
        try {
          return { id, mtimeMs: (await stat(this.pathOf(id))).mtimeMs };
        } catch {
          return undefined;
        }
      }),
    );
    return entries.filter((e): e is { id: string; mtimeMs: number } => e !== undefined);
  }
}

function toReceiveError(err: unknown): Error {
  if (err instanceof UploadError) return err;
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new InsufficientStorageError();
  if (typeof code === 'string' && code.startsWith('E')) return StorageError.fromFs(err, 'stage upload');
  return err instanceof Error ? err : new Error(String(err));
}
