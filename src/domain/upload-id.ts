/**
 * The lowest UUIDv7 of millisecond `ms`. Upload ids are UUIDv7, so every upload created before `ms`
 * has an id below it: a cursor for "older than" that every record store already indexes.
 */
export function uploadIdFloor(ms: number): string {
  const hex = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0').slice(-12);
  return `${hex.slice(0, 8)}-${hex.slice(8)}-7000-8000-000000000000`;
}
