import { mkdir, mkdtemp, readdir, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forgetDir, syncDir } from './durable-fs.js';

/** How many of this process's open descriptors point at `path` (Linux: /proc/self/fd). */
async function descriptorsOf(path: string): Promise<number> {
  let count = 0;
  for (const fd of await readdir('/proc/self/fd')) {
    if ((await readlink(`/proc/self/fd/${fd}`).catch(() => '')) === path) count += 1;
  }
  return count;
}

describe('syncDir', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'stowage-durable-'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('keeps one descriptor per directory across many syncs, and closes it when the directory is forgotten', async () => {
    const dir = join(root, 'staging');
    await mkdir(dir);
    await Promise.all(Array.from({ length: 20 }, () => syncDir(dir)));
    await syncDir(dir);
    expect(await descriptorsOf(dir)).toBe(1);

    forgetDir(dir);
    await new Promise((r) => setTimeout(r, 50)); // the close runs on the threadpool
    expect(await descriptorsOf(dir)).toBe(0);
  });

  it('syncs a directory made again after removal through a fresh descriptor', async () => {
    const dir = join(root, 'shard');
    await mkdir(dir);
    await syncDir(dir);
    await rm(dir, { recursive: true });
    await mkdir(dir);
    forgetDir(dir);
    await syncDir(dir);
    expect(await descriptorsOf(dir)).toBe(1); // the new inode's; the old one reads "(deleted)"
  });

  it('fails for a directory that does not exist, and works once it does', async () => {
    const dir = join(root, 'later');
    await expect(syncDir(dir)).rejects.toMatchObject({ code: 'ENOENT' });
    await mkdir(dir);
    await expect(syncDir(dir)).resolves.toBeUndefined();
  });
});
