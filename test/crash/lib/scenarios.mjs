// The client workloads the crash states are taken from.
const MiB = 1024 * 1024;

/**
 * One of each thing a client does, one after the other, so the syncs come in a readable order:
 * a small upload with an Idempotency-Key, one over 8 MiB (hashed on the helper thread), the
 * idempotent repeat, an upload cut off mid-body, a delete of a stored upload, a last upload.
 */
export const SHORT = [
  { op: 'upload', name: 'small', size: 100_000, key: 'key-small' },
  { op: 'upload', name: 'large', size: 9 * MiB },
  { op: 'repeat', name: 'small' },
  { op: 'partial', name: 'cut-off', size: 600_000 },
  { op: 'upload', name: 'doomed', size: 1_000 },
  { op: 'settle', name: 'small' },
  { op: 'settle', name: 'large' },
  { op: 'settle', name: 'doomed' },
  { op: 'delete', name: 'doomed' },
  { op: 'upload', name: 'last', size: 50_000 },
  { op: 'settle', name: 'last' },
];

/**
 * Concurrent clients: `clients` lanes run side by side, each a random sequence of uploads (one lane
 * sends an 8+ MiB one), idempotent repeats, deletes right after the 202 or once stored, and an
 * upload cut off mid-body.
 */
export function randomScenario(rand, clients = 3) {
  const pick = (items) => items[Math.floor(rand() * items.length)];
  const lanes = [];
  let n = 0;
  for (let lane = 0; lane < clients; lane += 1) {
    const steps = [];
    for (let i = 0; i < 3; i += 1) {
      const name = `c${lane}-${(n += 1)}`;
      const large = lane === 0 && i === 1;
      const size = large ? 8 * MiB + Math.floor(rand() * MiB) : 1 + Math.floor(rand() * 300_000);
      const key = rand() < 0.5 ? `key-${name}` : undefined;
      steps.push({ op: 'upload', name, size, key });
      const next = pick(['repeat', 'delete-now', 'settle', 'settle-delete', 'none']);
      if (next === 'repeat' && key) steps.push({ op: 'repeat', name });
      if (next === 'delete-now') steps.push({ op: 'delete', name });
      if (next === 'settle') steps.push({ op: 'settle', name });
      if (next === 'settle-delete') steps.push({ op: 'settle', name }, { op: 'delete', name });
    }
    if (lane === clients - 1) steps.splice(1, 0, { op: 'partial', name: `c${lane}-partial`, size: 200_000 + Math.floor(rand() * 200_000) });
    lanes.push({ op: 'sequence', steps });
  }
  return [{ op: 'parallel', steps: lanes }];
}
