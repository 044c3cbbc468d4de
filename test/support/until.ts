import { setTimeout as delay } from 'node:timers/promises';

/**
 * Waits, bounded, for `probe` to return a value. The deterministic points of the process-level tests
 * are observable states (a file on disk, a status, a log line), polled here rather than slept for.
 */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}
