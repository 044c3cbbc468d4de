import type { UploadsModuleOptions } from '../../uploads/module/uploads.options.js';
import type { UploadsTopology } from '../../uploads/module/uploads.topology.js';
import { ENVIRONMENT, type EnvironmentVariables } from './environment.js';

/** The extras that shape the module; everything else is an option. */
const EXTRAS = new Set(['transport', 'role']);

/**
 * The one place where the standalone service maps its environment to the module's options: each
 * variable goes to the option its setting names, so the mapping is never written by hand.
 */
export function uploadsOptionsFromEnv(env: EnvironmentVariables): UploadsModuleOptions {
  const options: Record<string, unknown> = {};
  for (const { name, option } of ENVIRONMENT) {
    if (!option || EXTRAS.has(option)) continue;
    const value = (env as Record<string, unknown>)[name];
    if (value === undefined) continue;
    const path = option.split('.');
    const parent = path.slice(0, -1).reduce((at, key) => (at[key] ??= {}) as Record<string, unknown>, options);
    parent[path.at(-1)!] = value;
  }
  // Redis is only the transport's: unset with `memory`, so a stray REDIS_URL changes nothing.
  if (env.TASK_TRANSPORT !== 'bullmq') delete options.redis;
  if (env.STORAGE_BACKEND !== 's3') delete options.s3;
  return options;
}

export function uploadsTopologyFromEnv(env: EnvironmentVariables): UploadsTopology {
  return { transport: env.TASK_TRANSPORT, role: env.ROLE };
}
