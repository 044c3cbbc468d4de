// The service's compiled code as the bench uses it, each named in one place: src/ may be
// reorganised (e.g. dist/main.js becoming dist/app/main.js, the record repository moving folder),
// and such a move is then a one-line change here. Paths are relative to the repository root.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The standalone service (`npm start`). */
export const SERVICE_ENTRY = 'dist/app/main.js';

/**
 * The Node flags the service's start scripts pass (package.json `config.node_flags`, which `npm start`,
 * `start:prod`, `start:api` and `start:worker` put on their command line), read from the checkout at
 * `root`: the bench starts the service as `npm start` would, and an A/B (ab.mjs) each build with its own.
 */
export function serviceNodeArgs(root) {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  return (pkg.config?.node_flags ?? '').split(/\s+/).filter(Boolean);
}

/** The storage-worker process of the bullmq transport (scale-out figure). */
export const WORKER_ENTRY = 'dist/app/worker.js';

/** The embedded record store (src/records/lmdb-record.repository.ts); the scale figure seeds through it. */
export const RECORD_REPOSITORY = { module: 'dist/records/lmdb-record.repository.js', name: 'LmdbRecordRepository' };

/** The default storage backend (src/storage/local-disk.storage.ts): where a stored upload's bytes live. */
export const DISK_STORAGE = { module: 'dist/storage/local-disk.storage.js', name: 'LocalDiskStorage' };

/** What a storage root (UPLOAD_DIR) holds, as src/uploads/module/uploads.providers.ts lays it out. */
export function storageLayout(root) {
  return { records: join(root, 'records.mdb'), files: join(root, 'files') };
}

/** Imports one of the classes above from the built dist/ under `root`. */
export async function loadServiceClass(root, { module, name }) {
  const mod = await import(pathToFileURL(resolve(root, module)).href);
  if (typeof mod[name] !== 'function')
    throw new Error(`${module} does not export ${name} (moved or renamed? see bench/lib/service-code.mjs)`);
  return mod[name];
}
