import { plainToInstance, Transform, Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, MinLength, validateSync } from 'class-validator';

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
  STORAGE_CONCURRENCY = 4;

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL = 'info';

  @Transform(toBoolean) @IsBoolean()
  LOG_PRETTY = false;

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

/** `@nestjs/config` validate hook: stops start-up with one line per bad variable, naming it. */
export function validateEnv(raw: Record<string, unknown>): EnvironmentVariables {
  const defined = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined && v !== ''));
  const env = plainToInstance(EnvironmentVariables, defined, { exposeDefaultValues: true });
  const errors = validateSync(env, { skipMissingProperties: false });
  if (errors.length > 0) {
    const lines = errors.flatMap((e) => Object.values(e.constraints ?? {}).map((m) => `  - ${m} (got ${JSON.stringify(e.value)})`));
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return env;
}
