import { Redis } from 'ioredis';
import { redactUrl } from './redis-url.js';

/** How long start-up waits for Redis before refusing to start. */
const CONNECT_TIMEOUT_MS = 5_000;

/**
 * Connects, or throws a message naming the (redacted) URL: with `bullmq` every record lives in
 * Redis, so a process that cannot reach it must not start. Once up, the client reconnects by itself
 * and a command fails after a few retries rather than hanging a request.
 */
export async function connectRedis(url: string): Promise<Redis> {
  // No retries for the first connection: a failed start then leaves no socket or timer behind.
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 2,
    retryStrategy: () => null,
  });
  let lastError: Error | undefined;
  const remember = (err: Error) => {
    lastError = err;
  };
  client.on('error', remember);
  try {
    await client.connect();
  } catch (err) {
    const reason = lastError?.message ?? (err as Error).message;
    throw new Error(`Redis at ${redactUrl(url)} is not reachable (${reason}); the bullmq transport needs it to start`, { cause: err });
  } finally {
    client.off('error', remember);
  }
  client.options.retryStrategy = (times) => Math.min(times * 100, 2_000);
  return client;
}
