import type { StorageBackend } from '../storage/storage-backend.interface.js';
import type { RetryPolicy } from '../tasks/retry-policy.js';

export type Durability = 'fsync' | 'none';

/** Multipart limits enforced by the parser while it reads the body. */
export interface MultipartLimits {
  /** @default 10 */
  fields: number;
  /** Bytes per text field. @default 65536 */
  fieldSize: number;
  /** Parts of any kind (fields and files). @default 20 */
  parts: number;
  /** Header pairs per part. @default 100 */
  headerPairs: number;
}

/** Options of {@link UploadsModule}. Everything but `storageRoot` has a default. */
export interface UploadsModuleOptions {
  /** Root directory of staging, records and stored files. @default './uploads' */
  storageRoot?: string;
  /** Largest accepted file in bytes, enforced while streaming. @default 1073741824 (1 GiB) */
  maxFileSize?: number;
  /** Accepted MIME types (`image/png`, `image/*`); empty accepts any. @default [] */
  allowedMimeTypes?: string[];
  /** Storage attempts and backoff. @default { attempts: 5, baseDelayMs: 200, maxDelayMs: 30000 } */
  retry?: Partial<RetryPolicy>;
  /** `fsync` makes a 202 mean the bytes and record are on stable storage. @default 'fsync' */
  durability?: Durability;
  /** Uploads stored at the same time by this process. @default 4 */
  storageConcurrency?: number;
  limits?: Partial<MultipartLimits>;
  /** How long shutdown waits for running storage work before leaving it to the next start. @default 10000 */
  shutdownTimeoutMs?: number;
  /** A custom storage backend for the stored bytes. @default LocalDiskStorage under `storageRoot/files` */
  storage?: StorageBackend;
}

export interface ResolvedUploadsOptions {
  storageRoot: string;
  maxFileSize: number;
  allowedMimeTypes: string[];
  retry: RetryPolicy;
  durability: Durability;
  storageConcurrency: number;
  limits: MultipartLimits;
  shutdownTimeoutMs: number;
  storage?: StorageBackend;
}

const MIME_PATTERN = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/(\*|[a-z0-9][a-z0-9!#$&^_.+-]*)$/i;

function positiveInt(name: string, value: number, min = 1): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new Error(`UploadsModule option "${name}" must be an integer >= ${min} (got ${String(value)})`);
  }
  return value;
}

/** Fills defaults and rejects bad values with a message naming the option, so a host fails at init. */
export function resolveUploadsOptions(options: UploadsModuleOptions = {}): ResolvedUploadsOptions {
  const storageRoot = options.storageRoot ?? './uploads';
  if (typeof storageRoot !== 'string' || storageRoot.trim() === '') {
    throw new Error('UploadsModule option "storageRoot" must be a non-empty path');
  }
  const allowedMimeTypes = (options.allowedMimeTypes ?? []).map((t) => t.trim().toLowerCase());
  const badType = allowedMimeTypes.find((t) => !MIME_PATTERN.test(t));
  if (badType !== undefined) {
    throw new Error(`UploadsModule option "allowedMimeTypes" has "${badType}", expected type/subtype or type/*`);
  }
  const durability = options.durability ?? 'fsync';
  if (durability !== 'fsync' && durability !== 'none') {
    throw new Error(`UploadsModule option "durability" must be "fsync" or "none" (got ${String(durability)})`);
  }
  const retry: RetryPolicy = {
    attempts: positiveInt('retry.attempts', options.retry?.attempts ?? 5),
    baseDelayMs: positiveInt('retry.baseDelayMs', options.retry?.baseDelayMs ?? 200, 0),
    maxDelayMs: positiveInt('retry.maxDelayMs', options.retry?.maxDelayMs ?? 30_000, 0),
  };
  const limits: MultipartLimits = {
    fields: positiveInt('limits.fields', options.limits?.fields ?? 10, 0),
    fieldSize: positiveInt('limits.fieldSize', options.limits?.fieldSize ?? 65_536),
    parts: positiveInt('limits.parts', options.limits?.parts ?? 20),
    headerPairs: positiveInt('limits.headerPairs', options.limits?.headerPairs ?? 100),
  };
  return {
    storageRoot,
    maxFileSize: positiveInt('maxFileSize', options.maxFileSize ?? 1024 ** 3, 0),
    allowedMimeTypes,
    retry,
    durability,
    storageConcurrency: positiveInt('storageConcurrency', options.storageConcurrency ?? 4),
    limits,
    shutdownTimeoutMs: positiveInt('shutdownTimeoutMs', options.shutdownTimeoutMs ?? 10_000, 0),
    storage: options.storage,
  };
}
