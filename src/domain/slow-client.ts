import { UploadTooSlowError } from './errors/upload-too-slow.error.js';

/** Cut-off for clients that trickle: fewer than `minBytesPerSecond` over a window of `windowMs` (0 turns it off). */
export interface SlowClientLimits {
  /** @default 512 */
  minBytesPerSecond: number;
  /** @default 30000 */
  windowMs: number;
}

/**
 * Checks a transfer once a window: when fewer bytes than the limits ask for arrived in it (as
 * `received()` counts them), calls `onTooSlow` once with the error to answer, and stops. Returns the
 * function that stops watching. The timer never holds the process open.
 */
export function watchTransferRate(
  received: () => number,
  limits: SlowClientLimits | undefined,
  onTooSlow: (error: UploadTooSlowError) => void,
): () => void {
  if (!limits || limits.minBytesPerSecond <= 0) return () => {};
  const perWindow = (limits.minBytesPerSecond * limits.windowMs) / 1000;
  let last = received();
  const timer = setInterval(() => {
    const now = received();
    if (now - last < perWindow) {
      clearInterval(timer);
      onTooSlow(new UploadTooSlowError(limits.minBytesPerSecond, limits.windowMs));
    }
    last = now;
  }, limits.windowMs);
  timer.unref();
  return () => clearInterval(timer);
}
