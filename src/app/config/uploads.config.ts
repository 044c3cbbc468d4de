import type { ConfigService } from '@nestjs/config';
import type { UploadsModuleOptions } from '../../uploads/module/uploads.options.js';
import type { UploadsTopology } from '../../uploads/module/uploads.topology.js';
import { validateEnv, type EnvironmentVariables } from './env.validation.js';

/** The one place where the standalone service maps its environment to the module's options. */
export function uploadsOptionsFromEnv(config: ConfigService<EnvironmentVariables, true>): UploadsModuleOptions {
  return {
    storageRoot: config.get('UPLOAD_DIR', { infer: true }),
    maxFileSize: config.get('MAX_FILE_SIZE', { infer: true }),
    allowedMimeTypes: config
      .get('ALLOWED_MIME_TYPES', { infer: true })
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean),
    retry: {
      attempts: config.get('RETRY_ATTEMPTS', { infer: true }),
      baseDelayMs: config.get('RETRY_BASE_DELAY_MS', { infer: true }),
      maxDelayMs: config.get('RETRY_MAX_DELAY_MS', { infer: true }),
    },
    durability: config.get('DURABILITY', { infer: true }),
    storageConcurrency: config.get('STORAGE_CONCURRENCY', { infer: true }),
    shutdownTimeoutMs: config.get('SHUTDOWN_TIMEOUT_MS', { infer: true }),
    backpressure: {
      maxBacklog: config.get('MAX_BACKLOG', { infer: true }),
      maxStagingBytes: config.get('MAX_STAGING_BYTES', { infer: true }),
      minFreeBytes: config.get('MIN_FREE_DISK_BYTES', { infer: true }),
    },
    slowClient: {
      minBytesPerSecond: config.get('UPLOAD_MIN_BYTES_PER_SEC', { infer: true }),
      windowMs: config.get('UPLOAD_RATE_WINDOW_MS', { infer: true }),
    },
    reconcileIntervalMs: config.get('RECONCILE_INTERVAL_MS', { infer: true }),
    staleStagingMs: config.get('STALE_STAGING_MS', { infer: true }),
    statusPollIntervalMs: config.get('STATUS_POLL_INTERVAL_MS', { infer: true }),
    redis: config.get('TASK_TRANSPORT', { infer: true }) === 'bullmq'
      ? { url: config.get('REDIS_URL', { infer: true })!, prefix: config.get('REDIS_PREFIX', { infer: true }) }
      : undefined,
    queue: {
      lockDurationMs: config.get('QUEUE_LOCK_DURATION_MS', { infer: true }),
      stalledIntervalMs: config.get('QUEUE_STALLED_INTERVAL_MS', { infer: true }),
    },
  };
}

/**
 * TASK_TRANSPORT and ROLE decide the module's imports and routes, so they are read when the module
 * is built, before ConfigModule runs; `overrides` win over the environment as in `AppModule.forRoot`.
 */
export function uploadsTopologyFromEnv(overrides: Record<string, unknown> = {}): UploadsTopology {
  const env = validateEnv({ ...process.env, ...overrides });
  if (env.TASK_TRANSPORT === 'memory' && env.ROLE !== 'all') {
    throw new Error(`Invalid configuration:\n  - ROLE=${env.ROLE} needs TASK_TRANSPORT=bullmq (and REDIS_URL): with memory no other process can see the work`);
  }
  return { transport: env.TASK_TRANSPORT, role: env.ROLE };
}
