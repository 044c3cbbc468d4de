import { redactUrl } from '../../records/redis-url.js';

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

export const DEFAULT_TOPOLOGY: UploadsTopology = { transport: 'memory', role: 'all' };

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

const PREFIX_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

/** Checks the `transport` and `role` extras; a combination that cannot work throws naming the option. */
export function resolveTopology(extras: { transport?: unknown; role?: unknown }): UploadsTopology {
  const transport = extras.transport ?? DEFAULT_TOPOLOGY.transport;
  if (transport !== 'memory' && transport !== 'bullmq') {
    throw new Error(`UploadsModule option "transport" must be "memory" or "bullmq" (got ${JSON.stringify(transport)})`);
  }
  const role = extras.role ?? DEFAULT_TOPOLOGY.role;
  if (role !== 'all' && role !== 'api' && role !== 'worker') {
    throw new Error(`UploadsModule option "role" must be "all", "api" or "worker" (got ${JSON.stringify(role)})`);
  }
  if (transport === 'memory' && role !== 'all') {
    throw new Error(`UploadsModule option "role" is "${role}", which needs transport "bullmq": with "memory" no other process can see the work`);
  }
  return { transport, role };
}

function positiveMs(name: string, value: unknown, fallback: number): number {
  const ms = value ?? fallback;
  if (typeof ms !== 'number' || !Number.isSafeInteger(ms) || ms < 1) {
    throw new Error(`UploadsModule option "${name}" must be an integer >= 1 (got ${String(ms)})`);
  }
  return ms;
}

/** Fills `redis` and `queue`; with `bullmq` a missing or malformed `redis.url` stops the start. */
export function resolveQueueOptions(
  options: { redis?: RedisConnectionOptions; queue?: Partial<QueueTuning> },
  topology: UploadsTopology,
): { redis?: Required<RedisConnectionOptions>; queue: QueueTuning } {
  const queue: QueueTuning = {
    lockDurationMs: positiveMs('queue.lockDurationMs', options.queue?.lockDurationMs, 30_000),
    stalledIntervalMs: positiveMs('queue.stalledIntervalMs', options.queue?.stalledIntervalMs, 30_000),
  };
  if (topology.transport !== 'bullmq') return { queue };
  const url = options.redis?.url;
  if (typeof url !== 'string' || !/^rediss?:\/\/[^/\s]/.test(url)) {
    throw new Error(`UploadsModule option "redis.url" must be a redis:// or rediss:// URL with transport "bullmq" (got ${url === undefined ? 'nothing' : JSON.stringify(redactUrl(String(url)))})`);
  }
  const prefix = options.redis?.prefix ?? 'stowage';
  if (typeof prefix !== 'string' || !PREFIX_PATTERN.test(prefix)) {
    throw new Error(`UploadsModule option "redis.prefix" must be 1-64 of A-Z a-z 0-9 _ . : - (got ${JSON.stringify(prefix)})`);
  }
  return { redis: { url, prefix }, queue };
}
