export interface RetryPolicy {
  /** Total storage attempts, the first included. */
  attempts: number;
  /** Delay before the second attempt; doubles each time after. */
  baseDelayMs: number;
  maxDelayMs: number;
}

/** Exponential backoff with "equal jitter": spreads retries of a burst without ever waiting less than half. */
export function backoffDelay(policy: RetryPolicy, failedAttempt: number, random = Math.random): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, failedAttempt - 1));
  return Math.round(exp / 2 + (random() * exp) / 2);
}
