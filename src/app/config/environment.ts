import { parseValue, type Setting, SettingValueError, type ValueOf } from '../../uploads/module/setting.js';
import { UPLOADS_SETTINGS } from '../../uploads/module/uploads.settings.js';
import { redactUrl } from '../../records/redis-url.js';
import { ConfigurationError } from './configuration.error.js';

/** What only the standalone service reads; the uploads module's settings come from its own table. */
export const APP_SETTINGS = {
  PORT: { kind: 'integer', default: 3000, min: 1, max: 65535 },
  API_KEYS: {
    kind: 'list',
    default: [],
    pattern: /^[^\s,]{16,}$/,
    expected: 'keys, each at least 16 characters without spaces',
    secret: true,
  },
  LOG_LEVEL: { kind: 'enum', default: 'info', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
  LOG_PRETTY: { kind: 'boolean', default: false },
  HTTP_HEADERS_TIMEOUT_MS: { kind: 'duration', default: 30_000, min: 1000 },
  HTTP_IDLE_TIMEOUT_MS: { kind: 'duration', default: 60_000, min: 1000 },
  HTTP_REQUEST_TIMEOUT_MS: { kind: 'duration', default: 0, min: 0 },
} as const satisfies Record<string, Setting>;

type Uploads = typeof UPLOADS_SETTINGS;
type UploadsEnvName = { [P in keyof Uploads]: Uploads[P] extends { env: infer E extends string } ? E : never }[keyof Uploads];
type UploadsPathOf<E extends string> = { [P in keyof Uploads]: Uploads[P] extends { env: E } ? P : never }[keyof Uploads];

/** Every environment variable the standalone service reads, with the type it has once checked. */
export type EnvironmentVariables = { [K in keyof typeof APP_SETTINGS]: ValueOf<(typeof APP_SETTINGS)[K]> } & {
  [E in UploadsEnvName]: ValueOf<Uploads[UploadsPathOf<E>]>;
};

/** Every variable with its setting, the uploads module's under their `env` names. */
export const ENVIRONMENT: ReadonlyArray<{ name: string; setting: Setting; option?: string }> = [
  ...Object.entries(APP_SETTINGS).map(([name, setting]) => ({ name, setting: setting })),
  ...Object.entries(UPLOADS_SETTINGS).flatMap(([option, setting]: [string, Setting]) =>
    setting.env ? [{ name: setting.env, setting, option }] : [],
  ),
];

/** Overrides given in code (tests) may be numbers or booleans; the environment's values are strings. */
const asText = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));

/**
 * Reads and checks the whole environment at once: every bad variable is one line naming it, its
 * value (never a secret's) and the form expected. An unset or empty variable takes its default.
 */
export function validateEnv(raw: Record<string, unknown>): EnvironmentVariables {
  const env: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const { name, setting } of ENVIRONMENT) {
    const value = raw[name];
    if (value === undefined || value === '') {
      env[name] = setting.default;
      continue;
    }
    try {
      env[name] = parseValue(setting, asText(value));
    } catch (err) {
      if (!(err instanceof SettingValueError)) throw err;
      problems.push(`  - ${name} ${name === 'REDIS_URL' ? err.message.replace(asText(value), redactUrl(asText(value))) : err.message}`);
    }
  }
  if (env.TASK_TRANSPORT === 'bullmq' && env.REDIS_URL === undefined)
    problems.push(
      '  - REDIS_URL must be a redis:// or rediss:// URL; it is required with TASK_TRANSPORT=bullmq (e.g. redis://127.0.0.1:6379)',
    );
  if (env.TASK_TRANSPORT === 'memory' && env.ROLE !== 'all') {
    problems.push(
      `  - ROLE=${String(env.ROLE)} needs TASK_TRANSPORT=bullmq (and REDIS_URL): with memory no other process can see the work`,
    );
  }
  if (env.STORAGE_BACKEND === 's3' && env.S3_BUCKET === undefined)
    problems.push('  - S3_BUCKET must be a bucket name; it is required with STORAGE_BACKEND=s3');
  if (env.STAGING === 'local') {
    if (env.TASK_TRANSPORT !== 'bullmq')
      problems.push('  - STAGING=local needs TASK_TRANSPORT=bullmq (and REDIS_URL): the nodes share the records through Redis');
    if (env.ROLE !== 'all') problems.push(`  - STAGING=local needs ROLE=all (got ${String(env.ROLE)}): each node stores what it received`);
    if (env.STORAGE_BACKEND !== 's3')
      problems.push('  - STAGING=local needs STORAGE_BACKEND=s3: any node may be asked for the bytes of any upload');
  }
  if (problems.length > 0) throw new ConfigurationError(`Invalid configuration:\n${problems.join('\n')}`);
  return env as EnvironmentVariables;
}
