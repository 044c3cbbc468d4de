// Runs a client workload against the service on crashfs and records, per upload, what the client
// sent and when each answer arrived. The journal of the run holds every crash state.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { deleteUpload, postPartialUpload, postUpload, sha256, waitSettled } from './client.mjs';
import { mountCrashFs } from './crashfs.mjs';
import { readJournal } from './journal.mjs';
import { startService } from './service.mjs';

/**
 * Steps: `{ op: 'upload', name, size, key? }`, `{ op: 'repeat', name }` (same key and bytes again),
 * `{ op: 'partial', name, size }` (half the body, then the connection drops), `{ op: 'delete', name }`,
 * `{ op: 'settle', name }` (until stored), `{ op: 'parallel', steps }`, `{ op: 'sequence', steps }`.
 */
export async function runScenario({ steps, durability = 'fsync', ...options }) {
  const uploads = new Map();
  const journal = await onCrashFs({ durability, ...options }, (url) => runSteps(url, steps, uploads));
  return { journal, uploads, durability };
}

/**
 * Starts the service on crashfs over `<workDir>/backing` (which may hold an earlier image), runs
 * `work(url)`, then cuts the power: the process is killed. Resolves to the run's journal. The
 * states are taken from the journal, so the process stopping later than a cut changes none of them.
 */
export async function onCrashFs({ entry, workDir, durability = 'fsync', ignoreFsyncdir, slowFsyncdir }, work) {
  const backing = join(workDir, 'backing');
  const mountpoint = join(workDir, 'mnt');
  const journalDir = join(workDir, 'journal');
  for (const dir of [backing, mountpoint, journalDir]) mkdirSync(dir, { recursive: true });
  const fs = await mountCrashFs({ backing, mountpoint, journalDir, ignoreFsyncdir, slowFsyncdir });
  let service;
  try {
    service = await startService(entry, mountpoint, { DURABILITY: durability });
    await work(service.url);
  } finally {
    await service?.kill();
    await fs.unmount();
  }
  return readJournal(journalDir);
}

async function runSteps(url, steps, uploads) {
  for (const step of steps) {
    if (step.op === 'parallel') {
      await Promise.all(step.steps.map((inner) => runSteps(url, [inner], uploads)));
      continue;
    }
    if (step.op === 'sequence') {
      await runSteps(url, step.steps, uploads);
      continue;
    }
    const upload = uploads.get(step.name);
    if (step.op === 'upload') {
      const bytes = randomBytes(step.size);
      const entry = { name: step.name, key: step.key, size: bytes.length, sha256: sha256(bytes), bytes, acks: [] };
      uploads.set(step.name, entry);
      const { id, ackAt } = await postUpload(url, bytes, { filename: `${step.name}.bin`, key: step.key });
      entry.id = id;
      entry.acks.push(ackAt);
    } else if (step.op === 'repeat') {
      const { id, ackAt, replayed } = await postUpload(url, upload.bytes, { filename: `${step.name}.bin`, key: upload.key });
      if (id !== upload.id || !replayed) throw new Error(`repeat of ${step.name} gave ${id} (replayed: ${replayed}), not ${upload.id}`);
      upload.acks.push(ackAt);
    } else if (step.op === 'partial') {
      const bytes = randomBytes(step.size);
      uploads.set(step.name, { name: step.name, partial: true, size: bytes.length, sha256: sha256(bytes), acks: [] });
      await postPartialUpload(url, bytes, Math.floor(bytes.length / 2));
    } else if (step.op === 'delete') {
      upload.deleteSentAt = process.hrtime.bigint();
      upload.deletedAt = await deleteUpload(url, upload.id);
    } else if (step.op === 'settle') {
      const { record } = await waitSettled(url, upload.id);
      if (record?.status !== 'stored') throw new Error(`${step.name} settled as ${JSON.stringify(record)}`);
    } else throw new Error(`unknown step ${JSON.stringify(step)}`);
  }
}

/**
 * A recovery run after a first cut at state `k` of `run`, seen as a run of its own: the client
 * sends nothing more, so what it had before the first cut counts from the start (time 0), and
 * answers it received after that cut never came.
 */
export function recoveryRun(run, k, journal) {
  const cut = run.journal.cutTime(k);
  const before = (at) => (at !== undefined && at < cut ? 0n : undefined);
  const uploads = new Map();
  for (const [name, upload] of run.uploads) {
    const acks = upload.acks.filter((at) => at < cut).map(() => 0n);
    uploads.set(name, { ...upload, acks, deleteSentAt: before(upload.deleteSentAt), deletedAt: before(upload.deletedAt) });
  }
  return { journal, uploads, durability: run.durability };
}
