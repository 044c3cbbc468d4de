import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** The Redis the tests use (CI starts one on the default port). */
export const TEST_REDIS_URL = 'redis://127.0.0.1:6379';

/** A key prefix no other test run shares, so runs in parallel never see each other's keys. */
export function testRedisPrefix(): string {
  return `stowage-test-${randomBytes(6).toString('hex')}`;
}

/** Every key under `prefix`, for assertions and cleanup. */
export async function keysUnder(prefix: string, client?: Redis): Promise<string[]> {
  const redis = client ?? new Redis(TEST_REDIS_URL);
  try {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    return keys;
  } finally {
    if (!client) await redis.quit();
  }
}

/** Removes every key under `prefix`; returns how many there were. */
export async function deleteKeysUnder(prefix: string): Promise<number> {
  const redis = new Redis(TEST_REDIS_URL);
  try {
    const keys = await keysUnder(prefix, redis);
    for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
    return keys.length;
  } finally {
    await redis.quit();
  }
}

/** The env overrides that put the standalone app on the bullmq transport, under a private prefix. */
export function bullmqEnv(prefix: string) {
  return { TASK_TRANSPORT: 'bullmq', REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: prefix } as const;
}

export type TestTransport = 'memory' | 'bullmq';

/** Env overrides of a test app on `transport` (bullmq under a private prefix) and the cleanup of its keys. */
export function transportEnv(transport: TestTransport): { env: Record<string, string>; cleanup: () => Promise<number> } {
  // Explicit even for memory, so a TASK_TRANSPORT in the developer's environment cannot change the test.
  if (transport === 'memory') return { env: { TASK_TRANSPORT: 'memory', ROLE: 'all' }, cleanup: async () => 0 };
  const prefix = testRedisPrefix();
  return { env: { ...bullmqEnv(prefix) }, cleanup: () => deleteKeysUnder(prefix) };
}
