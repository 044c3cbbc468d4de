import type { Readable } from 'node:stream';

/** Injection token of the {@link StorageBackend} that holds stored bytes. */
export const STORAGE_BACKEND = Symbol('STORAGE_BACKEND');

export interface ExpectedContent {
  size: number;
  sha256: string;
  /** The upload's content type, for backends that keep it with the bytes (object storage). */
  contentType?: string;
}

/** What a presigned download link makes the object store answer with. */
export interface DownloadLinkOptions {
  /** How long the link works, in milliseconds. */
  expiresInMs: number;
  contentType?: string;
  /** A whole `Content-Disposition` header value. */
  contentDisposition?: string;
}

/** Inclusive byte range, as in HTTP. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Where stored bytes live. Streams only, never whole Buffers. Every failure is thrown as a
 * `StorageError`. Keys are opaque ids chosen by Stowage, never client input.
 */
export interface StorageBackend {
  /**
   * Stores `body` under `key` atomically (no reader sees a partial object) and verifies it matches
   * `expected`; a mismatch throws a permanent `StorageError` and leaves nothing at `key`. Writing the
   * same key again replaces it, so a repeated call after a crash leaves exactly one copy.
   */
  put(key: string, body: Readable, expected: ExpectedContent, signal?: AbortSignal): Promise<void>;
  /**
   * Optional fast path: takes over a complete, already durable local file (the staged upload) by
   * moving it to `key`, with no copy and no second read; the source's name may go only once the new
   * one is durable. Resolves `false`, leaving the file where it is, when it cannot (another
   * filesystem): the caller then falls back to `put`. Idempotent like `put`: when the file is gone
   * because an earlier call moved it, or `key` already names it, a `key` holding `expected` counts.
   */
  adopt?(key: string, sourcePath: string, expected: ExpectedContent): Promise<boolean>;
  /** Opens the object (or a range of it); throws `StorageError` with code `NOT_FOUND` when missing. */
  open(key: string, range?: ByteRange): Promise<Readable>;
  /** Size of the object, or undefined when it does not exist. */
  stat(key: string): Promise<{ size: number } | undefined>;
  /** Removes the object; a missing key is not an error. */
  delete(key: string): Promise<void>;
  /**
   * Removes what puts cut off by a crash left behind (temp objects, multipart parts) that was last
   * written before `before` (epoch ms); resolves how many. Called at start and by the periodic sweep.
   */
  sweepIncomplete?(before: number): Promise<number>;
  /** Every key held, for reconciliation; a backend that cannot list leaves it out. */
  keys?(): AsyncIterable<string>;
  /**
   * Checks the backend can be reached and used (object storage: the bucket exists and the
   * credentials are accepted); throws a `StorageError` saying why not, naming where it looked.
   * Called once at start-up (which it stops) and by health checks.
   */
  probe?(): Promise<void>;
  /**
   * A time-limited URL from which a client can download the object itself, so the bytes bypass
   * the API (object storage's presigned URLs). Used only when the module is told to redirect downloads.
   */
  downloadLink?(key: string, options: DownloadLinkOptions): Promise<string>;
}
