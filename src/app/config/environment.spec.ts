import { ConfigurationError } from './configuration.error.js';
import { validateEnv } from './environment.js';
import { uploadsOptionsFromEnv } from './uploads.config.js';

describe('validateEnv', () => {
  it('fills every default from an empty environment', () => {
    expect(validateEnv({})).toMatchObject({
      PORT: 3000,
      UPLOAD_DIR: './uploads',
      MAX_FILE_SIZE: 1024 ** 3,
      DURABILITY: 'fsync',
      ALLOWED_MIME_TYPES: [],
      API_KEYS: [],
    });
  });

  it('converts strings from the environment, with units for sizes and durations', () => {
    expect(
      validateEnv({
        PORT: '8080',
        LOG_PRETTY: 'true',
        ALLOWED_MIME_TYPES: 'image/png, image/*',
        MAX_FILE_SIZE: '10MB',
        MAX_STAGING_BYTES: '512KiB',
        MIN_FREE_DISK_BYTES: '1GiB',
        SHUTDOWN_TIMEOUT_MS: '30s',
        STALE_STAGING_MS: '24h',
        RETRY_BASE_DELAY_MS: '250',
      }),
    ).toMatchObject({
      PORT: 8080,
      LOG_PRETTY: true,
      ALLOWED_MIME_TYPES: ['image/png', 'image/*'],
      MAX_FILE_SIZE: 10_000_000,
      MAX_STAGING_BYTES: 512 * 1024,
      MIN_FREE_DISK_BYTES: 1024 ** 3,
      SHUTDOWN_TIMEOUT_MS: 30_000,
      STALE_STAGING_MS: 86_400_000,
      RETRY_BASE_DELAY_MS: 250,
    });
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT must be an integer (got "abc")'],
    [{ PORT: '70000' }, 'PORT must not be greater than 65535 (got 70000)'],
    [{ MAX_FILE_SIZE: '-1' }, 'MAX_FILE_SIZE must not be less than 0 (got -1)'],
    [{ MAX_FILE_SIZE: '10XB' }, 'MAX_FILE_SIZE is not a size (got "10XB"); expected bytes, or a number with a unit: 10MB, 512KiB, 1GiB'],
    [
      { SHUTDOWN_TIMEOUT_MS: 'soon' },
      'SHUTDOWN_TIMEOUT_MS is not a duration (got "soon"); expected milliseconds, or a number with a unit: 500ms, 30s, 5m, 24h',
    ],
    [{ DURABILITY: 'sometimes' }, 'DURABILITY must be one of the following values: fsync, none (got "sometimes")'],
    [{ ALLOWED_MIME_TYPES: 'png' }, 'ALLOWED_MIME_TYPES must be a comma-separated list of type/subtype or type/*'],
    [{ TASK_TRANSPORT: 'bullmq' }, 'REDIS_URL must be a redis:// or rediss:// URL; it is required with TASK_TRANSPORT=bullmq'],
    [{ ROLE: 'worker' }, 'ROLE=worker needs TASK_TRANSPORT=bullmq'],
  ])('rejects %j with one line naming the variable, the value and the form expected', (env, message) => {
    expect(() => validateEnv(env)).toThrow(ConfigurationError);
    expect(() => validateEnv(env)).toThrow(message);
  });

  it('takes the S3 settings, and asks for a bucket with STORAGE_BACKEND=s3', () => {
    expect(validateEnv({ STORAGE_BACKEND: 's3', S3_BUCKET: 'files', S3_FORCE_PATH_STYLE: 'true', S3_PART_SIZE: '16MiB' })).toMatchObject({
      STORAGE_BACKEND: 's3',
      S3_BUCKET: 'files',
      S3_REGION: 'us-east-1',
      S3_FORCE_PATH_STYLE: true,
      S3_PART_SIZE: 16 * 1024 ** 2,
      S3_DOWNLOAD: 'stream',
    });
    expect(() => validateEnv({ STORAGE_BACKEND: 's3' })).toThrow(/S3_BUCKET must be a bucket name; it is required with STORAGE_BACKEND=s3/);
  });

  it('refuses STAGING=local where a node could not store its own uploads or serve the others', () => {
    const problems = (() => {
      try {
        validateEnv({ STAGING: 'local', ROLE: 'api' });
      } catch (err) {
        return (err as Error).message;
      }
    })();
    expect(problems).toMatch(/STAGING=local needs TASK_TRANSPORT=bullmq/);
    expect(problems).toMatch(/STAGING=local needs ROLE=all \(got api\)/);
    expect(problems).toMatch(/STAGING=local needs STORAGE_BACKEND=s3/);
  });

  it('reports every bad variable at once', () => {
    expect(() => validateEnv({ PORT: 'x', DURABILITY: 'y' })).toThrow(/PORT[^\n]*\n[^\n]*DURABILITY/);
  });

  it('never repeats a secret: API keys are described, a Redis password is masked', () => {
    const check = (env: Record<string, string>) => {
      try {
        validateEnv(env);
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error('expected a configuration error');
    };
    const keys = check({ API_KEYS: 'shortsecret42' });
    expect(keys).toMatch(/API_KEYS must be a comma-separated list of keys, each at least 16 characters/);
    expect(keys).not.toContain('shortsecret42');
    const redis = check({ TASK_TRANSPORT: 'bullmq', REDIS_URL: 'http://admin:hunter2@cache:6379' });
    expect(redis).toContain('admin:***@cache');
    expect(redis).not.toContain('hunter2');
  });

  it('maps each variable to the module option its setting names', () => {
    const options = uploadsOptionsFromEnv(
      validateEnv({ RETRY_ATTEMPTS: '3', MAX_BACKLOG: '7', UPLOAD_RATE_WINDOW_MS: '2s', QUEUE_LOCK_DURATION_MS: '1000' }),
    );
    expect(options).toMatchObject({
      retry: { attempts: 3 },
      backpressure: { maxBacklog: 7 },
      slowClient: { windowMs: 2000 },
      queue: { lockDurationMs: 1000 },
    });
    expect(options).not.toHaveProperty('redis');
  });
});
