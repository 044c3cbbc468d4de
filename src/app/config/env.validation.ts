import { plainToInstance, Transform, Type } from 'class-transformer';
import { redactUrl } from '../../records/redis-url.js';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, MinLength, ValidateIf, validateSync } from 'class-validator';

const toBoolean = ({ value }: { value: unknown }) => (typeof value === 'string' ? ['true', '1', 'yes'].includes(value.toLowerCase()) : value);

/** Every environment variable the standalone service reads, with its default and its rule. */
export class EnvironmentVariables {
  @Type(() => Number) @IsInt() @Min(1) @Max(65535)
  PORT = 3000;

  @IsString() @MinLength(1)
  UPLOAD_DIR = './uploads';

  @Type(() => Number) @IsInt() @Min(0)
  MAX_FILE_SIZE = 1024 ** 3;

  @IsOptional() @IsString()
  @Matches(/^\s*([a-z0-9!#$&^_.+-]+\/(\*|[a-z0-9!#$&^_.+-]+)\s*(,\s*|$))*$/i, {
    message: 'ALLOWED_MIME_TYPES must be a comma-separated list of type/subtype or type/* (e.g. "image/png,application/pdf")',
  })
  ALLOWED_MIME_TYPES = '';

  @Type(() => Number) @IsInt() @Min(1) @Max(100)
  RETRY_ATTEMPTS = 5;

  @Type(() => Number) @IsInt() @Min(0)
  RETRY_BASE_DELAY_MS = 200;

  @Type(() => Number) @IsInt() @Min(0)
  RETRY_MAX_DELAY_MS = 30_000;

  @IsIn(['fsync', 'none'])
  DURABILITY: 'fsync' | 'none' = 'fsync';

  @Type(() => Number) @IsInt() @Min(1) @Max(256)
  STORAGE_CONCURRENCY = 32;

  /** How often an open live-status stream re-reads its record (changes made by other processes); 0 turns it off. */
  @Type(() => Number) @IsInt() @Min(0)
  STATUS_POLL_INTERVAL_MS = 1000;

  /** `memory`: storage work in this process. `bullmq`: a BullMQ queue and the records in Redis (needs REDIS_URL). */
  @IsIn(['memory', 'bullmq'])
  TASK_TRANSPORT: 'memory' | 'bullmq' = 'memory';

  /** Redis of the bullmq transport, e.g. redis://127.0.0.1:6379. */
  @ValidateIf((env: EnvironmentVariables) => env.TASK_TRANSPORT === 'bullmq' || env.REDIS_URL !== undefined)
  @Matches(/^rediss?:\/\/\S+$/, { message: 'REDIS_URL must be a redis:// or rediss:// URL; it is required with TASK_TRANSPORT=bullmq' })
  REDIS_URL?: string;

  /** Prefix of every Redis key (queue and records); all processes of one deployment share it. */
  @Matches(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/, { message: 'REDIS_PREFIX must be 1-64 characters of A-Z a-z 0-9 _ . : -' })
  REDIS_PREFIX = 'stowage';

  /** `all`: HTTP API and storage work; `api`: API only; `worker`: storage work only. `api` and `worker` need bullmq. */
  @IsIn(['all', 'api', 'worker'])
  ROLE: 'all' | 'api' | 'worker' = 'all';

  /** How long a worker's claim on a running job lasts; a dead worker's jobs move to another after it. */
  @Type(() => Number) @IsInt() @Min(100)
  QUEUE_LOCK_DURATION_MS = 30_000;

  /** How often workers look for jobs whose claim expired. */
  @Type(() => Number) @IsInt() @Min(100)
  QUEUE_STALLED_INTERVAL_MS = 30_000;

  /** Comma-separated API keys for the uploads routes (`Authorization: Bearer <key>`); empty turns the check off. */
  @IsOptional() @IsString()
  @Matches(/^\s*([^\s,]{16,}\s*(,\s*|$))*$/, { message: 'API_KEYS must be a comma-separated list of keys, each at least 16 characters without spaces' })
  API_KEYS = '';

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL = 'info';

  @Transform(toBoolean) @IsBoolean()
  LOG_PRETTY = false;

  /** How long SIGTERM/SIGINT waits for in-flight uploads and storage work before exiting. */
  @Type(() => Number) @IsInt() @Min(0)
  SHUTDOWN_TIMEOUT_MS = 10_000;

  /** Unstored uploads above which POST answers 503. */
  @Type(() => Number) @IsInt() @Min(1)
  MAX_BACKLOG = 10_000;

  /** Staged bytes above which POST answers 503; 0 for no limit. */
  @Type(() => Number) @IsInt() @Min(0)
  MAX_STAGING_BYTES = 0;

  /** Free disk below which POST answers 503. */
  @Type(() => Number) @IsInt() @Min(0)
  MIN_FREE_DISK_BYTES = 512 * 1024 ** 2;

  /** A client sending fewer bytes per second than this (over UPLOAD_RATE_WINDOW_MS) is cut off; 0 disables. */
  @Type(() => Number) @IsInt() @Min(0)
  UPLOAD_MIN_BYTES_PER_SEC = 512;

  @Type(() => Number) @IsInt() @Min(100)
  UPLOAD_RATE_WINDOW_MS = 30_000;

  /** Period of the reconciliation sweep; 0 runs it at start only. */
  @Type(() => Number) @IsInt() @Min(0)
  RECONCILE_INTERVAL_MS = 300_000;

  /** Staged bytes of no live upload older than this are removed by the sweep. */
  @Type(() => Number) @IsInt() @Min(0)
  STALE_STAGING_MS = 86_400_000;

  /** Time allowed for a request's headers. */
  @Type(() => Number) @IsInt() @Min(1000)
  HTTP_HEADERS_TIMEOUT_MS = 30_000;

  /** A connection with no bytes moving for this long is closed: cuts off stalled uploads, not slow ones. */
  @Type(() => Number) @IsInt() @Min(1000)
  HTTP_IDLE_TIMEOUT_MS = 60_000;

  /** Cap on a whole request; 0 (no cap) so a large upload on a slow link is never cut off. */
  @Type(() => Number) @IsInt() @Min(0)
  HTTP_REQUEST_TIMEOUT_MS = 0;
}

/** Variables whose values are secrets: a message says what is wrong with them, never what they are. */
const SECRET_VARIABLES = new Set(['API_KEYS']);

function shown(name: string, value: unknown): string {
  if (SECRET_VARIABLES.has(name)) return `a value of ${String(value).length} characters, not shown`;
  if (name === 'REDIS_URL' && typeof value === 'string') return JSON.stringify(redactUrl(value));
  return JSON.stringify(value);
}

/** `@nestjs/config` validate hook: stops start-up with one line per bad variable, naming it. */
export function validateEnv(raw: Record<string, unknown>): EnvironmentVariables {
  const defined = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined && v !== ''));
  const env = plainToInstance(EnvironmentVariables, defined, { exposeDefaultValues: true });
  const errors = validateSync(env, { skipMissingProperties: false });
  if (errors.length > 0) {
    const lines = errors.flatMap((e) => Object.values(e.constraints ?? {}).map((m) => `  - ${m} (got ${shown(e.property, e.value)})`));
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return env;
}
