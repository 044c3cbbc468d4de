import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TempStorageRoot {
  /** A new, empty directory under the OS temp dir: pass it as the `storageRoot` option. */
  path: string;
  /** Removes the directory and everything in it; safe to call twice. Close the app first. */
  cleanup(): Promise<void>;
}

/**
 * A private storage root for one test (or one suite), so tests never share staging, records or
 * stored files, and leave nothing behind.
 * @param prefix start of the directory's name, to tell leftovers apart. @default 'stowage-test-'
 */
export async function createTempStorageRoot(prefix = 'stowage-test-'): Promise<TempStorageRoot> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}
