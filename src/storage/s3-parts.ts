import { type FileHandle, open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { StorageError } from '../domain/errors/storage.error.js';
import type { ExpectedContent } from './storage-backend.interface.js';

// The S3 backend's part buffers, where their bytes come from, and the check that they are the ones received.

/**
 * The part buffers of one backend: at most `slots` at once, whatever the number of uploads being
 * stored, handed out in request order. Full-size buffers are kept for reuse; smaller requests (a
 * whole small object) get a buffer of their own size, counted the same.
 */
export class PartBudget {
  private readonly spare: Buffer[] = [];
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly partSize: number,
    slots: number,
  ) {
    this.free = slots;
  }

  async take(size: number): Promise<{ buffer: Buffer; release: () => void }> {
    if (this.free > 0) this.free -= 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    const full = size >= this.partSize;
    const buffer = full ? (this.spare.pop() ?? Buffer.allocUnsafeSlow(this.partSize)) : Buffer.allocUnsafe(size);
    let released = false;
    return {
      buffer,
      release: () => {
        if (released) return;
        released = true;
        if (full) this.spare.push(buffer);
        const next = this.waiting.shift();
        if (next) next();
        else this.free += 1;
      },
    };
  }
}

/** Where the parts' bytes come from: filled into the budget's buffers, in order. */
export interface PartSource {
  /** Fills `target`; resolves how many bytes it holds (fewer only at the end). */
  fill(target: Buffer): Promise<number>;
  /** Counts what is left, for a size check: nothing, unless the source is longer than expected. */
  rest(): Promise<number>;
  close(): Promise<void>;
}

/**
 * A staged file (a file read stream, not started yet) is read straight into the part buffers,
 * with no chunk allocated per 64 KiB: garbage that, while the garbage collector waits, would count
 * against the memory the part budget promises. Any other stream is copied chunk by chunk.
 */
export function readerOf(body: Readable): PartSource {
  const path = (body as Readable & { path?: unknown }).path;
  if (typeof path !== 'string' || body.readableFlowing !== null || body.readableLength > 0) return new PartReader(body);
  body.on('error', () => undefined); // never read: its own open of a missing file must not go unhandled (ours reports it)
  return new FileReader(path);
}

class FileReader implements PartSource {
  private handle?: Promise<FileHandle>;
  private position = 0;

  constructor(private readonly path: string) {}

  private file(): Promise<FileHandle> {
    return (this.handle ??= open(this.path, 'r'));
  }

  async fill(target: Buffer): Promise<number> {
    const file = await this.file();
    let filled = 0;
    while (filled < target.length) {
      const { bytesRead } = await file.read(target, filled, target.length - filled, this.position);
      if (bytesRead === 0) break;
      filled += bytesRead;
      this.position += bytesRead;
    }
    return filled;
  }

  async rest(): Promise<number> {
    return Math.max(0, (await (await this.file()).stat()).size - this.position);
  }

  async close(): Promise<void> {
    await (await this.handle?.catch(() => undefined))?.close();
  }
}

/** Reads a stream into caller-given buffers, carrying over what did not fit. */
class PartReader implements PartSource {
  private readonly chunks: AsyncIterator<Buffer>;
  private pending?: Buffer;

  constructor(body: Readable) {
    this.chunks = (body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  }

  /** Fills `target`; resolves how many bytes it holds (fewer only at the end of the stream). */
  async fill(target: Buffer): Promise<number> {
    let filled = 0;
    while (filled < target.length) {
      let chunk = this.pending;
      this.pending = undefined;
      if (!chunk) {
        const next = await this.chunks.next();
        if (next.done) break;
        chunk = next.value;
      }
      const copied = chunk.copy(target, filled);
      filled += copied;
      if (copied < chunk.length) this.pending = chunk.subarray(copied);
    }
    return filled;
  }

  async close(): Promise<void> {}

  /** Counts what is left, for a size check: nothing, unless the source is longer than expected. */
  async rest(): Promise<number> {
    let left = this.pending?.length ?? 0;
    this.pending = undefined;
    for (let next = await this.chunks.next(); !next.done; next = await this.chunks.next()) left += next.value.length;
    return left;
  }
}

/** Throws `CONTENT_MISMATCH` unless the bytes read are the ones received (size, then SHA-256). */
export function verify(objectKey: string, size: number, sha256: string, expected: ExpectedContent): void {
  if (size === expected.size && sha256 === expected.sha256) return;
  throw new StorageError(
    'CONTENT_MISMATCH',
    `Staged bytes of ${objectKey} do not match what was received (size ${size}/${expected.size}, sha256 ${size === expected.size ? sha256 : 'not computed'}/${expected.sha256})`,
  );
}
