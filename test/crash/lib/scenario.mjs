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
export async function runScenario({ entry, workDir, steps, durability = 'fsync', ignoreFsyncdir, slowFsyncdir }) {
  const backing = join(workDir, 'backing');
  const mountpoint = join(workDir, 'mnt');
  const journalDir = join(workDir, 'journal');
  for (const dir of [backing, mountpoint, journalDir]) mkdirSync(dir, { recursive: true });
  const uploads = new Map();
  const fs = await mountCrashFs({ backing, mountpoint, journalDir, ignoreFsyncdir, slowFsyncdir });
  let service;
  try {
    service = await startService(entry, mountpoint, { DURABILITY: durability });
    await runSteps(service.url, steps, uploads);
    // The power cut: whatever the process still had in flight never happens. States are taken from
    // the journal, so the process stopping later than the cut changes none of them.
    await service.kill();
  } finally {
    await service?.kill();
    await fs.unmount();
  }
  return { journal: readJournal(journalDir), uploads, durability };
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
