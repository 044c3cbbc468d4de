import type { RetryPolicy } from '../../tasks/retry-policy.js';
import { resolveStoragePlacement, type StoragePlacement, type StoragePlacementOptions } from './storage-placement.js';
import type { UploadsModuleExtras } from './uploads.module-definition.js';
import { optionValue, type UploadsSettingPath } from './uploads.settings.js';
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

import type { SlowClientLimits } from '../../domain/slow-client.js';

export type { SlowClientLimits };

/** Options of {@link UploadsModule}. Everything but `storageRoot` has a default. */
export interface UploadsModuleOptions extends StoragePlacementOptions {
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
  /**
   * Stored uploads whose bytes each periodic sweep checks, going on where the previous one stopped,
   * so a sweep's cost is bounded by this, not by the store; 0 checks all of them every time. The
   * sweep at start checks all. @default 20000
   */
  reconcileBatch?: number;
  /** Staged bytes without a live upload older than this are removed by the sweep. @default 86400000 (24 h) */
  staleStagingMs?: number;
  /**
   * An acknowledged upload that has been unsettled this long with no task queued or running (its
   * queueing was lost, e.g. to a Redis outage) is queued again. @default 60000
   */
  redriveAfterMs?: number;
  /** How long shutdown waits for running storage work before leaving it to the next start. @default 10000 */
  shutdownTimeoutMs?: number;
  /**
   * How long an unfinished resumable (tus) upload lives after its last chunk; then it is expired
   * (410) and its bytes are removed by the sweep. @default 86400000 (24 h)
   */
  resumableExpiryMs?: number;
  /**
   * How often an open live-status stream (`GET /{path}/:id/events`) re-reads its record, to see
   * changes made by another process; changes made in this process are seen at once. 0 turns it off.
   * @default 1000
   */
  statusPollIntervalMs?: number;
  /** Redis of the queue and the shared records; required with `transport: 'bullmq'`, unused otherwise. */
  redis?: RedisConnectionOptions;
  /** BullMQ worker tuning, with `transport: 'bullmq'`. @default { lockDurationMs: 30000, stalledIntervalMs: 30000 } */
  queue?: Partial<QueueTuning>;
}

export interface ResolvedUploadsOptions extends StoragePlacement {
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
  reconcileBatch: number;
  staleStagingMs: number;
  redriveAfterMs: number;
  resumableExpiryMs: number;
  transport: UploadsTopology['transport'];
  role: UploadsTopology['role'];
  /** Set when the transport is `bullmq`. */
  redis?: Required<RedisConnectionOptions>;
  queue: QueueTuning;
}

/** Fills defaults and rejects bad values with a message naming the option, so a host fails at init. */
export function resolveUploadsOptions(
  options: UploadsModuleOptions = {},
  topology: UploadsTopology = DEFAULT_TOPOLOGY,
): ResolvedUploadsOptions {
  if (options === null || typeof options !== 'object') {
    throw new Error(`UploadsModule options must be an object (got ${String(options)}); check what forRootAsync's useFactory returns`);
  }
  const value = <P extends UploadsSettingPath>(path: P) => optionValue(options, path);
  const retry: RetryPolicy = {
    attempts: value('retry.attempts'),
    baseDelayMs: value('retry.baseDelayMs'),
    maxDelayMs: value('retry.maxDelayMs'),
  };
  if (retry.maxDelayMs < retry.baseDelayMs) {
    throw new Error(
      `UploadsModule option "retry.maxDelayMs" (${retry.maxDelayMs}) must not be below "retry.baseDelayMs" (${retry.baseDelayMs})`,
    );
  }
  return {
    storageRoot: value('storageRoot'),
    maxFileSize: value('maxFileSize'),
    allowedMimeTypes: value('allowedMimeTypes').map((t) => t.toLowerCase()),
    retry,
    durability: value('durability'),
    storageConcurrency: value('storageConcurrency'),
    limits: {
      fields: value('limits.fields'),
      fieldSize: value('limits.fieldSize'),
      parts: value('limits.parts'),
      headerPairs: value('limits.headerPairs'),
    },
    shutdownTimeoutMs: value('shutdownTimeoutMs'),
    statusPollIntervalMs: value('statusPollIntervalMs'),
    backpressure: {
      maxBacklog: value('backpressure.maxBacklog'),
      maxStagingBytes: value('backpressure.maxStagingBytes'),
      minFreeBytes: value('backpressure.minFreeBytes'),
      retryAfterSeconds: value('backpressure.retryAfterSeconds'),
    },
    slowClient: { minBytesPerSecond: value('slowClient.minBytesPerSecond'), windowMs: value('slowClient.windowMs') },
    reconcileIntervalMs: value('reconcileIntervalMs'),
    reconcileBatch: value('reconcileBatch'),
    staleStagingMs: value('staleStagingMs'),
    redriveAfterMs: value('redriveAfterMs'),
    resumableExpiryMs: value('resumableExpiryMs'),
    ...resolveStoragePlacement(options, topology),
    ...topology,
    ...resolveQueueOptions(options, topology),
  };
}

const PATH_SEGMENT = /^[A-Za-z0-9._~-]+$/;

/**
 * Checks the extras `UploadsModule` reads itself (they shape the module, so they cannot wait for
 * the options provider) and fills their defaults; a bad one throws naming it.
 */
export function resolveUploadsExtras(
  extras: UploadsModuleExtras,
): Required<Pick<UploadsModuleExtras, 'path' | 'guards' | 'eventEmitter'>> & UploadsTopology {
  const raw = extras.path ?? 'uploads';
  const path = typeof raw === 'string' ? raw.replace(/^\/+|\/+$/g, '') : '';
  if (path === '' || !path.split('/').every((segment) => PATH_SEGMENT.test(segment) && !/^\.+$/.test(segment))) {
    throw new Error(`UploadsModule option "path" must be a route prefix such as "api/files" (got ${JSON.stringify(raw)})`);
  }
  const guards = extras.guards ?? [];
  if (
    !Array.isArray(guards) ||
    guards.some((g) => typeof g !== 'function' && typeof (g as { canActivate?: unknown })?.canActivate !== 'function')
  ) {
    throw new Error('UploadsModule option "guards" must be an array of guard classes or instances with canActivate()');
  }
  const eventEmitter = extras.eventEmitter ?? 'host';
  if (eventEmitter !== 'host' && eventEmitter !== 'own') {
    throw new Error(`UploadsModule option "eventEmitter" must be "host" or "own" (got ${JSON.stringify(eventEmitter)})`);
  }
  return { path, guards, eventEmitter, ...resolveTopology(extras) };
}
