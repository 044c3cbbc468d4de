#!/usr/bin/env node
// Seeds a storage root with N stored uploads for the scale figures, the way the service leaves
// them: a record in the service's own record store (written through its LMDB repository, so the
// status index and encoding are the service's) and the file where its storage backend looks for it.
// The file matters: the reconciliation sweep stats every stored upload's bytes, and one without
// them would be turned `failed` (CONTENT_MISSING), so GET /uploads/{id} would not read `stored`.
// Files are hard links of a few 1 KiB files: a million of them cost directory entries, not inodes
// or 4 GiB of blocks, and every one has the size and SHA-256 its record says.
//
//   node bench/lib/scale-seed.mjs <repo root> <storage root> <records> <file size> <ids to pick> <ids file>
//
// Prints one JSON line: { records, seconds, sourceFiles, ids }. The ids file lists `/uploads/<id>`
// for `ids to pick` uploads spread over the whole range, in a shuffled order (random access).
import { createHash } from 'node:crypto';
import { linkSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import process from 'node:process';
import { v7 } from 'uuid';
import { payloadPattern } from './multipart.mjs';
import { DISK_STORAGE, RECORD_REPOSITORY, loadServiceClass, storageLayout } from './service-code.mjs';

const [repoRoot, storageRoot, recordsText, fileSizeText, idsText, idsFile] = process.argv.slice(2);
const records = Number(recordsText);
const fileSize = Number(fileSizeText);
const pick = Math.min(Number(idsText), records);
if (!idsFile || !(records > 0) || !(fileSize > 0) || !(pick > 0)) {
  console.error('usage: scale-seed.mjs <repo root> <storage root> <records> <file size> <ids to pick> <ids file>');
  process.exit(2);
}

/** ext4 allows 65,000 links to one inode; a new source file is started well before. */
const LINKS_PER_FILE = 60_000;
/** Records written per batch of concurrent creates (the repository group-commits them). */
const BATCH = 5000;

const started = performance.now();
const layout = storageLayout(storageRoot);
const Repository = await loadServiceClass(repoRoot, RECORD_REPOSITORY);
const Disk = await loadServiceClass(repoRoot, DISK_STORAGE);
// Not durable: seeding is not measured, and the service opens the same file with its own settings.
const repository = new Repository(layout.records, false);
await repository.init();
const disk = new Disk(layout.files, false);

const content = payloadPattern().subarray(0, fileSize);
const sha256 = createHash('sha256').update(content).digest('hex');
const made = new Set();
let source;
let links = 0;
let sourceFiles = 0;

function placeFile(id) {
  const path = disk.pathOf(id);
  const dir = dirname(path);
  if (!made.has(dir)) {
    mkdirSync(dir, { recursive: true });
    made.add(dir);
  }
  if (source && links < LINKS_PER_FILE) {
    try {
      linkSync(source, path);
      links++;
      return;
    } catch (err) {
      if (err.code !== 'EMLINK') throw err; // a file system with a lower limit: start a new source
    }
  }
  writeFileSync(path, content);
  source = path;
  links = 1;
  sourceFiles++;
}

// Ids are UUIDv7 like the service's, 1 ms apart, ending a second ago: the newest seeded upload
// is the first one listed, and uploads made during the figures come after all of them.
const firstMs = Date.now() - 1000 - records;
const step = records / pick;
const chosen = [];
let pending = [];
for (let i = 0; i < records; i++) {
  const at = new Date(firstMs + i).toISOString();
  const id = v7({ msecs: firstMs + i });
  placeFile(id);
  pending.push(
    repository.create({
      id,
      status: 'stored',
      filename: `seed-${i}.bin`,
      mimeType: 'application/octet-stream',
      size: fileSize,
      sha256,
      receivedAt: at,
      updatedAt: at,
      storedAt: at,
      attempts: 1,
      requestId: `seed-${i}`,
    }),
  );
  if (chosen.length < pick && i >= Math.floor(chosen.length * step)) chosen.push(id);
  if (pending.length >= BATCH) {
    await Promise.all(pending);
    pending = [];
  }
}
await Promise.all(pending);
await repository.onApplicationShutdown();

// Deterministic shuffle (xorshift32), so every run asks for the same ids in the same order.
let x = 0x2545f491;
for (let i = chosen.length - 1; i > 0; i--) {
  x ^= x << 13;
  x >>>= 0;
  x ^= x >>> 17;
  x ^= x << 5;
  x >>>= 0;
  const j = x % (i + 1);
  [chosen[i], chosen[j]] = [chosen[j], chosen[i]];
}
writeFileSync(idsFile, `${chosen.map((id) => `/uploads/${id}`).join('\n')}\n`);
console.log(JSON.stringify({ records, seconds: (performance.now() - started) / 1000, sourceFiles, ids: chosen.length }));
