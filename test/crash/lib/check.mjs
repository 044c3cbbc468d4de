// One crash state: the durable image after sync k, the service restarted on it, the invariants.
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { downloadDigest, health, listAll, waitSettled } from './client.mjs';
import { startService } from './service.mjs';

/**
 * The rule for a state `k` (the cut fell after sync k, before sync k + 1 began):
 * - acknowledged: a 202 (first POST or idempotent repeat) received before the cut. It must be
 *   `stored`, with the SHA-256 and size the client sent, and download byte-identical; unless its
 *   DELETE was sent before the cut (then it may be gone), and if the 204 to that DELETE was received
 *   before the cut it must be gone.
 * - visible: any record after the restart. It must be an upload the client sent completely (its
 *   id came back in some 202, before or after the cut; an upload cut off mid-body never gets one),
 *   and complete and correct: `stored`, that upload's SHA-256 and size, byte-identical download.
 *   An upload whose record reached the disk but whose 202 the client had not received may so be
 *   visible, or not.
 * - no leftovers once recovery and the start-up sweep are done: nothing in staging/ (every visible
 *   upload is stored) or files/.incomplete/, files/<xx>/ holds exactly the stored ids, and the root
 *   holds nothing but staging/, files/ and LMDB's records.mdb and records.mdb-lock.
 * - the record store opens: the service starts on the image and lists its records.
 */
export async function checkState({ entry, run, k, scratch }) {
  const cut = run.journal.cutTime(k);
  const image = join(scratch, `state-${k}`);
  rmSync(image, { recursive: true, force: true });
  run.journal.materialize(k, image);
  const violations = [];
  let service;
  try {
    service = await startService(entry, image, { DURABILITY: run.durability });
  } catch (err) {
    rmSync(image, { recursive: true, force: true });
    return [`the service does not start on the image (record store?): ${err.message.slice(0, 600)}`];
  }
  try {
    await settleEverything(service.url);
    const records = new Map((await listAll(service.url)).map((record) => [record.id, record]));
    const byId = new Map([...run.uploads.values()].filter((u) => u.id).map((u) => [u.id, u]));

    for (const upload of run.uploads.values()) {
      if (!upload.id) continue;
      const acked = upload.acks.some((at) => at < cut);
      const deleting = upload.deleteSentAt !== undefined && upload.deleteSentAt < cut;
      const deleted = upload.deletedAt !== undefined && upload.deletedAt < cut;
      const record = records.get(upload.id);
      if (deleted && record)
        violations.push(`${upload.name} (${upload.id}): its DELETE was answered 204 before the cut, yet it is back (${record.status})`);
      else if (acked && !deleting && !record) violations.push(`${upload.name} (${upload.id}): acknowledged (202) before the cut, lost`);
    }
    for (const record of records.values()) {
      const upload = byId.get(record.id);
      const label = `${upload?.name ?? 'unknown'} (${record.id})`;
      if (!upload) {
        violations.push(`${label}: visible, but no 202 ever carried this id (an upload the client did not send completely?)`);
        continue;
      }
      if (record.status !== 'stored') violations.push(`${label}: ${record.status} ${JSON.stringify(record.error ?? '')}, not stored`);
      if (record.sha256 !== upload.sha256 || record.size !== upload.size)
        violations.push(`${label}: record says ${record.size} bytes ${record.sha256}, the client sent ${upload.size} ${upload.sha256}`);
      if (record.status === 'stored') {
        const got = await downloadDigest(service.url, record.id);
        if (got.sha256 !== upload.sha256 || got.size !== upload.size)
          violations.push(`${label}: download ${JSON.stringify(got)} differs from what was sent`);
      }
    }
    violations.push(...leftovers(image, [...records.values()]));
  } catch (err) {
    violations.push(`checking the restarted service failed: ${err.stack}\n${service.output()}`);
  } finally {
    await service.kill(); // nothing left to drain that matters: the image is checked or kept as is
    if (violations.length === 0) rmSync(image, { recursive: true, force: true });
  }
  return violations;
}

/**
 * Waits until recovery's and the start-up sweep's work is done: the sweep has run once (it has no
 * signal of its own when it finds nothing, so /health is read until it counts one), and every
 * record is settled (through each one's status stream, which ends on stored or failed).
 */
export async function settleEverything(url) {
  const deadline = Date.now() + 30_000;
  while ((await health(url)).details?.storage?.reconciliation?.totals?.sweeps < 1) {
    if (Date.now() > deadline) throw new Error('the start-up sweep did not finish in 30 s');
    await delay(25);
  }
  for (;;) {
    const unsettled = (await listAll(url)).filter((r) => r.status === 'received' || r.status === 'processing');
    if (unsettled.length === 0) return;
    await Promise.all(unsettled.map((r) => waitSettled(url, r.id)));
  }
}

function names(dir) {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function leftovers(image, records) {
  const found = [];
  const stored = new Set(records.filter((r) => r.status === 'stored').map((r) => r.id));
  const live = new Set(records.map((r) => r.id));
  for (const name of names(image)) {
    if (!['staging', 'files', 'records.mdb', 'records.mdb-lock'].includes(name)) found.push(`leftover in the storage root: ${name}`);
  }
  for (const name of names(join(image, 'staging')))
    found.push(`leftover staged file: staging/${name}${live.has(name) ? '' : ' (no record)'}`);
  for (const name of names(join(image, 'files', '.incomplete'))) found.push(`leftover temp file: files/.incomplete/${name}`);
  for (const shard of names(join(image, 'files'))) {
    if (shard === '.incomplete') continue;
    if (!statSync(join(image, 'files', shard)).isDirectory()) {
      found.push(`leftover in files/: ${shard}`);
      continue;
    }
    for (const name of names(join(image, 'files', shard))) {
      if (!stored.has(name))
        found.push(`leftover stored bytes: files/${shard}/${name} (${live.has(name) ? 'record not stored' : 'no record'})`);
    }
  }
  return found;
}
