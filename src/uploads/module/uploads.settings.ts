import { checkValue, type Setting, SettingValueError, type ValueOf } from './setting.js';

const MIME = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/(\*|[a-z0-9][a-z0-9!#$&^_.+-]*)$/i;

/**
 * The one home of the uploads module's defaults and ranges, by option path. `forRoot` options are
 * checked against it, the standalone app reads its environment through it (`env`), and a spec keeps
 * the README's and EMBEDDING's tables equal to it.
 */
export const UPLOADS_SETTINGS = {
  storageRoot: { kind: 'string', default: './uploads', env: 'UPLOAD_DIR', expected: 'a non-empty path' },
  maxFileSize: { kind: 'bytes', default: 1024 ** 3, min: 0, env: 'MAX_FILE_SIZE' },
  allowedMimeTypes: {
    kind: 'list',
    default: [],
    pattern: MIME,
    expected: 'type/subtype or type/* (e.g. "image/png", "image/*")',
    env: 'ALLOWED_MIME_TYPES',
  },
  'retry.attempts': { kind: 'integer', default: 5, min: 1, max: 100, env: 'RETRY_ATTEMPTS' },
  'retry.baseDelayMs': { kind: 'duration', default: 200, min: 0, env: 'RETRY_BASE_DELAY_MS' },
  'retry.maxDelayMs': { kind: 'duration', default: 30_000, min: 0, env: 'RETRY_MAX_DELAY_MS' },
  durability: { kind: 'enum', default: 'fsync', values: ['fsync', 'none'], env: 'DURABILITY' },
  storageConcurrency: { kind: 'integer', default: 32, min: 1, max: 256, env: 'STORAGE_CONCURRENCY' },
  statusPollIntervalMs: { kind: 'duration', default: 1000, min: 0, env: 'STATUS_POLL_INTERVAL_MS' },
  'backpressure.maxBacklog': { kind: 'integer', default: 10_000, min: 1, env: 'MAX_BACKLOG' },
  'backpressure.maxStagingBytes': { kind: 'bytes', default: 0, min: 0, env: 'MAX_STAGING_BYTES' },
  'backpressure.minFreeBytes': { kind: 'bytes', default: 512 * 1024 ** 2, min: 0, env: 'MIN_FREE_DISK_BYTES' },
  'backpressure.retryAfterSeconds': { kind: 'integer', default: 5, min: 1, max: 3600 },
  'slowClient.minBytesPerSecond': { kind: 'bytes', default: 512, min: 0, env: 'UPLOAD_MIN_BYTES_PER_SEC' },
  'slowClient.windowMs': { kind: 'duration', default: 30_000, min: 100, env: 'UPLOAD_RATE_WINDOW_MS' },
  shutdownTimeoutMs: { kind: 'duration', default: 10_000, min: 0, env: 'SHUTDOWN_TIMEOUT_MS' },
  reconcileIntervalMs: { kind: 'duration', default: 300_000, min: 0, env: 'RECONCILE_INTERVAL_MS' },
  reconcileBatch: { kind: 'integer', default: 20_000, min: 0, env: 'RECONCILE_BATCH' },
  staleStagingMs: { kind: 'duration', default: 86_400_000, min: 0, env: 'STALE_STAGING_MS' },
  redriveAfterMs: { kind: 'duration', default: 60_000, min: 1000, env: 'REDRIVE_AFTER_MS' },
  resumableExpiryMs: { kind: 'duration', default: 86_400_000, min: 100, env: 'RESUMABLE_EXPIRY_MS' },
  'limits.fields': { kind: 'integer', default: 10, min: 0 },
  'limits.fieldSize': { kind: 'bytes', default: 65_536, min: 1 },
  'limits.parts': { kind: 'integer', default: 20, min: 1 },
  'limits.headerPairs': { kind: 'integer', default: 100, min: 1 },
  'redis.url': {
    kind: 'string',
    default: undefined,
    pattern: /^rediss?:\/\/[^/\s]\S*$/,
    expected: 'a redis:// or rediss:// URL',
    env: 'REDIS_URL',
  },
  'redis.prefix': {
    kind: 'string',
    default: 'stowage',
    pattern: /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/,
    expected: '1-64 of A-Z a-z 0-9 _ . : -',
    env: 'REDIS_PREFIX',
  },
  'queue.lockDurationMs': { kind: 'duration', default: 30_000, min: 100, env: 'QUEUE_LOCK_DURATION_MS' },
  'queue.stalledIntervalMs': { kind: 'duration', default: 30_000, min: 100, env: 'QUEUE_STALLED_INTERVAL_MS' },
  staging: { kind: 'enum', default: 'shared', values: ['shared', 'local'], env: 'STAGING' },
  storageBackend: { kind: 'enum', default: 'disk', values: ['disk', 's3'], env: 'STORAGE_BACKEND' },
  's3.bucket': {
    kind: 'string',
    default: undefined,
    pattern: /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
    expected: 'a bucket name (3-63 of a-z 0-9 . -)',
    env: 'S3_BUCKET',
  },
  's3.endpoint': {
    kind: 'string',
    default: undefined,
    pattern: /^https?:\/\/[^/\s]+\/?$/,
    expected: 'an http:// or https:// URL without a path, e.g. http://127.0.0.1:9000',
    env: 'S3_ENDPOINT',
  },
  's3.region': {
    kind: 'string',
    default: 'us-east-1',
    pattern: /^[a-z0-9-]{1,32}$/,
    expected: 'a region such as eu-west-1',
    env: 'S3_REGION',
  },
  's3.forcePathStyle': { kind: 'boolean', default: false, env: 'S3_FORCE_PATH_STYLE' },
  's3.prefix': {
    kind: 'string',
    default: undefined,
    pattern: /^(?!.*\/\/)[A-Za-z0-9_.-][A-Za-z0-9_./-]{0,199}$/,
    expected: 'a key prefix of 1-200 of A-Z a-z 0-9 _ . - / (no leading or double slash)',
    env: 'S3_PREFIX',
  },
  's3.partSize': { kind: 'bytes', default: 8 * 1024 ** 2, min: 5 * 1024 ** 2, max: 5 * 1024 ** 3, env: 'S3_PART_SIZE' },
  's3.partsInFlight': { kind: 'integer', default: 4, min: 1, max: 64, env: 'S3_PARTS_IN_FLIGHT' },
  's3.requestTimeoutMs': { kind: 'duration', default: 30_000, min: 100, env: 'S3_REQUEST_TIMEOUT_MS' },
  's3.download': { kind: 'enum', default: 'stream', values: ['stream', 'redirect'], env: 'S3_DOWNLOAD' },
  's3.linkExpiresMs': { kind: 'duration', default: 60_000, min: 1000, max: 604_800_000, env: 'S3_LINK_EXPIRES_MS' },
  // Extras: they shape the module, so `forRoot` reads them beside the options.
  transport: { kind: 'enum', default: 'memory', values: ['memory', 'bullmq'], env: 'TASK_TRANSPORT' },
  role: { kind: 'enum', default: 'all', values: ['all', 'api', 'worker'], env: 'ROLE' },
} as const satisfies Record<string, Setting>;

export type UploadsSettingPath = keyof typeof UPLOADS_SETTINGS;

/** The value at `path` in `options`, or the setting's default; a bad one throws naming the option. */
export function optionValue<P extends UploadsSettingPath>(options: object, path: P): ValueOf<(typeof UPLOADS_SETTINGS)[P]> {
  const setting: Setting = UPLOADS_SETTINGS[path];
  const given = path.split('.').reduce<unknown>((at, key) => (at as Record<string, unknown> | undefined)?.[key], options);
  if (given === undefined) return setting.default as ValueOf<(typeof UPLOADS_SETTINGS)[P]>;
  try {
    return checkValue(setting, given) as ValueOf<(typeof UPLOADS_SETTINGS)[P]>;
  } catch (err) {
    if (err instanceof SettingValueError) throw new Error(`UploadsModule option "${path}" ${err.message}`, { cause: err });
    throw err;
  }
}
