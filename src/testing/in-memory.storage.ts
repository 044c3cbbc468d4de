import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { StorageError } from '../domain/errors/storage.error.js';
import type { ByteRange, ExpectedContent, StorageBackend } from '../storage/storage-backend.interface.js';

/**
 * A storage backend for tests: keeps objects in memory, can be told to fail the next puts, and
 * can hold puts until the test releases them (to observe what happens while storage is running).
 */
export class InMemoryStorage implements StorageBackend {
  readonly objects = new Map<string, Buffer>();
  private failures: Array<StorageError | ((key: string) => StorageError | undefined)> = [];
  private gate?: { promise: Promise<void>; release: () => void };
  /** Keys whose put has started, in order; a held put is listed here before it finishes. */
  readonly started: string[] = [];

  /** The next put fails with `error`; call several times to fail several puts. */
  failNext(error: StorageError): this {
    this.failures.push(error);
    return this;
  }

  /** Every put whose key `matches` fails with `error`, until the test changes its mind. */
  failWhen(matches: (key: string) => boolean, error: StorageError): this {
    this.failures.push((key) => (matches(key) ? error : undefined));
    return this;
  }

  /** Puts wait until the returned function is called. */
  hold(): () => void {
    let release!: () => void;
    const promise = new Promise<void>((resolve) => (release = resolve));
    this.gate = { promise, release };
    return () => {
      this.gate = undefined;
      release();
    };
  }

  async put(key: string, body: Readable, expected: ExpectedContent): Promise<void> {
    this.started.push(key);
    const chunks: Buffer[] = [];
    for await (const chunk of body as AsyncIterable<Buffer>) chunks.push(chunk);
    if (this.gate) await this.gate.promise;
    const failure = this.nextFailure(key);
    if (failure) throw failure;
    const bytes = Buffer.concat(chunks);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (bytes.length !== expected.size || sha256 !== expected.sha256) {
      throw new StorageError('CONTENT_MISMATCH', 'content does not match');
    }
    this.objects.set(key, bytes);
  }

  async open(key: string, range?: ByteRange): Promise<Readable> {
    const bytes = this.objects.get(key);
    if (!bytes) throw new StorageError('NOT_FOUND', `no object ${key}`);
    return Readable.from([range ? bytes.subarray(range.start, range.end + 1) : bytes]);
  }

  async stat(key: string): Promise<{ size: number } | undefined> {
    const bytes = this.objects.get(key);
    return bytes ? { size: bytes.length } : undefined;
  }

  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }

  private nextFailure(key: string): StorageError | undefined {
    for (const [i, f] of this.failures.entries()) {
      if (typeof f === 'function') {
        const err = f(key);
        if (err) return err;
        continue;
      }
      this.failures.splice(i, 1);
      return f;
    }
    return undefined;
  }
}
