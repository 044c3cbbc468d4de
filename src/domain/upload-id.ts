import { randomFillSync } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';

/**
 * The lowest UUIDv7 of millisecond `ms`. Upload ids are UUIDv7, so every upload created before `ms`
 * has an id below it: a cursor for "older than" that every record store already indexes.
 */
export function uploadIdFloor(ms: number): string {
  const hex = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0').slice(-12);
  return `${hex.slice(0, 8)}-${hex.slice(8)}-7000-8000-000000000000`;
}

/** Random bytes fetched from the system this many at a time: a call per id cost ~15 µs of the request. */
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let used = 0;
/** Ids made in the same millisecond count up from a random start, so they still sort in creation order. */
const clock = { msecs: -1, seq: 0 };

/** 16 bytes from a pool refilled from the system's CSPRNG. */
function randomBytes16(): Buffer {
  if (used + 16 > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(POOL_BYTES)); // a fresh buffer: handed-out views stay as they were
    used = 0;
  }
  used += 16;
  return pool.subarray(used - 16, used);
}

/** A new upload id: a UUIDv7, so ids sort by creation time, also within one millisecond. */
export function newUploadId(): string {
  const random = randomBytes16();
  const now = Date.now();
  if (now > clock.msecs) {
    clock.msecs = now;
    clock.seq = random.readUInt32BE(6) & 0x7fffffff; // the upper half of the counter's range is left to count up into
  } else {
    clock.seq = (clock.seq + 1) | 0;
    if (clock.seq === 0) clock.msecs += 1;
  }
  return uuidv7({ random, msecs: clock.msecs, seq: clock.seq });
}
