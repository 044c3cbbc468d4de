// Restarts the service on many crash states of one run, a couple at a time.
import { checkState } from './check.mjs';

/** Service restarts at once: each is mostly CPU (Nest's start-up), and CI has 2 cores. */
const CONCURRENCY = Number(process.env.CRASH_CONCURRENCY ?? 2);

export const totals = { states: 0, syncs: 0, failing: 0 };

/**
 * Checks `states` of `run`; with `untilViolation`, stops starting new ones after the first state
 * that breaks an invariant (the harness's self-tests only need one). Resolves to the failing states.
 */
export async function explore({ entry, run, states, scratch, untilViolation = false, log = () => undefined }) {
  const queue = [...states];
  const failures = [];
  let checked = 0;
  const worker = async () => {
    while (queue.length > 0 && !(untilViolation && failures.length > 0)) {
      const k = queue.shift();
      const violations = await checkState({ entry, run, k, scratch });
      checked += 1;
      if (violations.length > 0) {
        failures.push({ k, violations });
        log(`state ${k} of ${run.journal.syncCount}: ${violations.join('\n  ')}`);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  totals.states += checked;
  totals.syncs += run.journal.syncCount;
  if (failures.length > 0) totals.failing += failures.length;
  return { checked, failures: failures.sort((a, b) => a.k - b.k) };
}

/** A small seeded PRNG (mulberry32), so a random run can be replayed with CRASH_SEED. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` different items of `items`, drawn with `rand`. */
export function sample(rand, items, n) {
  const pool = [...items];
  const picked = [];
  while (picked.length < n && pool.length > 0) picked.push(pool.splice(Math.floor(rand() * pool.length), 1)[0]);
  return picked;
}
