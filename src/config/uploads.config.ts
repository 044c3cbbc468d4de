import type { ConfigService } from '@nestjs/config';
import type { UploadsModuleOptions } from '../uploads/uploads.options.js';
import type { EnvironmentVariables } from './env.validation.js';

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
  };
}
