import { redactUrl } from '../../records/redis-url.js';
import { optionValue, UPLOADS_SETTINGS } from './uploads.settings.js';

/**
 * How storage work travels. `memory`: in this process, nothing else to run. `bullmq`: a BullMQ
 * queue in Redis, worked by any process with the `worker` (or `all`) role; records move to Redis too.
 */
export type TaskTransportKind = 'memory' | 'bullmq';

/**
 * What this process does. `all`: HTTP API and storage work. `api`: HTTP API and queueing only.
 * `worker`: storage work only, no routes. `api` and `worker` need the `bullmq` transport.
 */
export type UploadsRole = 'all' | 'api' | 'worker';

/** The two extras that decide which providers, imports and routes a module instance has. */
export interface UploadsTopology {
  transport: TaskTransportKind;
  role: UploadsRole;
}

/** Injection token of the module instance's resolved {@link UploadsTopology}. */
export const UPLOADS_TOPOLOGY = Symbol('UPLOADS_TOPOLOGY');

export const DEFAULT_TOPOLOGY: UploadsTopology = { transport: UPLOADS_SETTINGS.transport.default, role: UPLOADS_SETTINGS.role.default };

/** The Redis that holds the queue and the shared records with the `bullmq` transport. */
export interface RedisConnectionOptions {
  /** `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS. */
  url: string;
  /** Prefix of every key the module writes (queue and records): one prefix per deployment. @default 'stowage' */
  prefix?: string;
}

/** How fast the workers notice a dead worker's jobs; both trade Redis traffic for recovery time. */
export interface QueueTuning {
  /** How long a worker's claim on a running job lasts without renewal (renewed every half of it). @default 30000 */
  lockDurationMs: number;
  /** How often workers look for jobs whose claim expired and put them back in the queue. @default 30000 */
  stalledIntervalMs: number;
}

/** Checks the `transport` and `role` extras; a combination that cannot work throws naming the option. */
export function resolveTopology(extras: { transport?: unknown; role?: unknown }): UploadsTopology {
  const transport = optionValue(extras, 'transport');
  const role = optionValue(extras, 'role');
  if (transport === 'memory' && role !== 'all') {
    throw new Error(
      `UploadsModule option "role" is "${role}", which needs transport "bullmq": with "memory" no other process can see the work`,
    );
  }
  return { transport, role };
}

/** Fills `redis` and `queue`; with `bullmq` a missing or malformed `redis.url` stops the start. */
export function resolveQueueOptions(
  options: { redis?: RedisConnectionOptions; queue?: Partial<QueueTuning> },
  topology: UploadsTopology,
): { redis?: Required<RedisConnectionOptions>; queue: QueueTuning } {
  const queue: QueueTuning = {
    lockDurationMs: optionValue(options, 'queue.lockDurationMs'),
    stalledIntervalMs: optionValue(options, 'queue.stalledIntervalMs'),
  };
  if (topology.transport !== 'bullmq') return { queue };
  const url = options.redis?.url;
  if (typeof url !== 'string' || !UPLOADS_SETTINGS['redis.url'].pattern.test(url)) {
    throw new Error(
      `UploadsModule option "redis.url" must be a redis:// or rediss:// URL with transport "bullmq" (got ${url === undefined ? 'nothing' : JSON.stringify(redactUrl(String(url)))})`,
    );
  }
  return { redis: { url, prefix: optionValue(options, 'redis.prefix') }, queue };
}
