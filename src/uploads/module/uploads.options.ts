import type { StorageBackend } from '../../storage/storage-backend.interface.js';
import type { RetryPolicy } from '../../tasks/retry-policy.js';
import type { UploadsModuleExtras } from './uploads.module-definition.js';
import {
  DEFAULT_TOPOLOGY,
  type QueueTuning,
  type RedisConnectionOptions,
  resolveQueueOptions,
  resolveTopology,
  type UploadsTopology,
} from './uploads.topology.js';

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

/** When `POST` answers 503 instead of taking work it cannot hold. */
export interface BackpressureLimits {
  /** Unstored uploads (queued, running, waiting to retry) above which new uploads are refused. @default 10000 */
  maxBacklog: number;
  /** Bytes in the staging area above which new uploads are refused; 0 for no limit. @default 0 */
  maxStagingBytes: number;
  /** Free bytes on the storage root's disk below which new uploads are refused. @default 536870912 (512 MiB) */
  minFreeBytes: number;
  /** Seconds a refused client is told to wait (Retry-After). @default 5 */
  retryAfterSeconds: number;
}

/** Cut-off for clients that trickle: fewer than `minBytesPerSecond` over a window of `windowMs`. */
export interface SlowClientLimits {
  /** @default 512 */
  minBytesPerSecond: number;
  /** @default 30000 */
  windowMs: number;
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
  /**
   * Uploads stored at the same time by this process. Storing mostly waits on the disk (with the
   * default backend: a rename and a flush), so many run at once; lower it for a backend that copies.
   * @default 32
   */
  storageConcurrency?: number;
  limits?: Partial<MultipartLimits>;
  backpressure?: Partial<BackpressureLimits>;
  slowClient?: Partial<SlowClientLimits>;
  /** Period of the sweep that finds records and files that disagree; 0 to run it at start only. @default 300000 */
  reconcileIntervalMs?: number;
  /** Staged bytes without a live upload older than this are removed by the sweep. @default 86400000 (24 h) */
  staleStagingMs?: number;
  /** How long shutdown waits for running storage work before leaving it to the next start. @default 10000 */
  shutdownTimeoutMs?: number;
  /**
   * How often an open live-status stream (`GET /{path}/:id/events`) re-reads its record, to see
   * changes made by another process; changes made in this process are seen at once. 0 turns it off.
   * @default 1000
   */
  statusPollIntervalMs?: number;
  /** A custom storage backend for the stored bytes. @default LocalDiskStorage under `storageRoot/files` */
  storage?: StorageBackend;
  /** Redis of the queue and the shared records; required with `transport: 'bullmq'`, unused otherwise. */
  redis?: RedisConnectionOptions;
  /** BullMQ worker tuning, with `transport: 'bullmq'`. @default { lockDurationMs: 30000, stalledIntervalMs: 30000 } */
  queue?: Partial<QueueTuning>;
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
  statusPollIntervalMs: number;
  backpressure: BackpressureLimits;
  slowClient: SlowClientLimits;
  reconcileIntervalMs: number;
  staleStagingMs: number;
  storage?: StorageBackend;
  transport: UploadsTopology['transport'];
  role: UploadsTopology['role'];
  /** Set when the transport is `bullmq`. */
  redis?: Required<RedisConnectionOptions>;
  queue: QueueTuning;
}

const MIME_PATTERN = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/(\*|[a-z0-9][a-z0-9!#$&^_.+-]*)$/i;

function positiveInt(name: string, value: number, min = 1): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new Error(`UploadsModule option "${name}" must be an integer >= ${min} (got ${String(value)})`);
  }
  return value;
}

/** Fills defaults and rejects bad values with a message naming the option, so a host fails at init. */
export function resolveUploadsOptions(options: UploadsModuleOptions = {}, topology: UploadsTopology = DEFAULT_TOPOLOGY): ResolvedUploadsOptions {
  if (options === null || typeof options !== 'object') {
    throw new Error(`UploadsModule options must be an object (got ${String(options)}); check what forRootAsync's useFactory returns`);
  }
  const storageRoot = options.storageRoot ?? './uploads';
  if (typeof storageRoot !== 'string' || storageRoot.trim() === '') {
    throw new Error('UploadsModule option "storageRoot" must be a non-empty path');
  }
  if (options.allowedMimeTypes !== undefined && !(Array.isArray(options.allowedMimeTypes) && options.allowedMimeTypes.every((t) => typeof t === 'string'))) {
    throw new Error('UploadsModule option "allowedMimeTypes" must be an array of strings such as ["image/png", "image/*"]');
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
  if (retry.maxDelayMs < retry.baseDelayMs) {
    throw new Error(`UploadsModule option "retry.maxDelayMs" (${retry.maxDelayMs}) must not be below "retry.baseDelayMs" (${retry.baseDelayMs})`);
  }
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
    storageConcurrency: positiveInt('storageConcurrency', options.storageConcurrency ?? 32),
    limits,
    shutdownTimeoutMs: positiveInt('shutdownTimeoutMs', options.shutdownTimeoutMs ?? 10_000, 0),
    statusPollIntervalMs: positiveInt('statusPollIntervalMs', options.statusPollIntervalMs ?? 1000, 0),
    backpressure: {
      maxBacklog: positiveInt('backpressure.maxBacklog', options.backpressure?.maxBacklog ?? 10_000),
      maxStagingBytes: positiveInt('backpressure.maxStagingBytes', options.backpressure?.maxStagingBytes ?? 0, 0),
      minFreeBytes: positiveInt('backpressure.minFreeBytes', options.backpressure?.minFreeBytes ?? 512 * 1024 ** 2, 0),
      retryAfterSeconds: positiveInt('backpressure.retryAfterSeconds', options.backpressure?.retryAfterSeconds ?? 5),
    },
    slowClient: {
      minBytesPerSecond: positiveInt('slowClient.minBytesPerSecond', options.slowClient?.minBytesPerSecond ?? 512, 0),
      windowMs: positiveInt('slowClient.windowMs', options.slowClient?.windowMs ?? 30_000, 100),
    },
    reconcileIntervalMs: positiveInt('reconcileIntervalMs', options.reconcileIntervalMs ?? 300_000, 0),
    staleStagingMs: positiveInt('staleStagingMs', options.staleStagingMs ?? 24 * 3600_000, 0),
    storage: storageBackend(options.storage),
    ...topology,
    ...resolveQueueOptions(options, topology),
  };
}

const BACKEND_METHODS = ['put', 'open', 'stat', 'delete'] as const;

/** A custom backend is checked for the whole contract now, not at the first upload that needs it. */
function storageBackend(storage: StorageBackend | undefined): StorageBackend | undefined {
  if (storage === undefined) return undefined;
  const missing = BACKEND_METHODS.filter((m) => typeof (storage as unknown as Record<string, unknown> | null)?.[m] !== 'function');
  if (missing.length > 0) {
    throw new Error(`UploadsModule option "storage" must implement StorageBackend; missing ${missing.map((m) => `${m}()`).join(', ')}`);
  }
  return storage;
}

const PATH_SEGMENT = /^[A-Za-z0-9._~-]+$/;

/**
 * Checks the extras `UploadsModule` reads itself (they shape the module, so they cannot wait for
 * the options provider) and fills their defaults; a bad one throws naming it.
 */
export function resolveUploadsExtras(extras: UploadsModuleExtras): Required<Pick<UploadsModuleExtras, 'path' | 'guards' | 'eventEmitter'>> & UploadsTopology {
  const raw = extras.path ?? 'uploads';
  const path = typeof raw === 'string' ? raw.replace(/^\/+|\/+$/g, '') : '';
  if (path === '' || !path.split('/').every((segment) => PATH_SEGMENT.test(segment) && !/^\.+$/.test(segment))) {
    throw new Error(`UploadsModule option "path" must be a route prefix such as "api/files" (got ${JSON.stringify(raw)})`);
  }
  const guards = extras.guards ?? [];
  if (!Array.isArray(guards) || guards.some((g) => typeof g !== 'function' && typeof (g as { canActivate?: unknown })?.canActivate !== 'function')) {
    throw new Error('UploadsModule option "guards" must be an array of guard classes or instances with canActivate()');
  }
  const eventEmitter = extras.eventEmitter ?? 'host';
  if (eventEmitter !== 'host' && eventEmitter !== 'own') {
    throw new Error(`UploadsModule option "eventEmitter" must be "host" or "own" (got ${JSON.stringify(eventEmitter)})`);
  }
  return { path, guards, eventEmitter, ...resolveTopology(extras) };
}
