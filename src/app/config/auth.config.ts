import type { ConfigService } from '@nestjs/config';
import type { EnvironmentVariables } from './env.validation.js';

/** The standalone service's API keys from `API_KEYS` (comma-separated); none means the check is off. */
export function apiKeysFromEnv(config: ConfigService<EnvironmentVariables, true>): string[] {
  return config
    .get('API_KEYS', { infer: true })
    .split(',')
    .map((key) => key.trim())
    .filter(Boolean);
}
