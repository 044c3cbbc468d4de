// What each server actually put on disk. Only `<UPLOAD_DIR>/files/` is read, recursively (the
// service shards into subdirectories); the file layout below it is not relied on otherwise.
import { mkdir, readdir, rename, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';

const TEMP = /\.(tmp|part)$/;

/** Calls `visit(path, name)` for every file under `dir`, depth first; a missing `dir` has none. */
async function walkFiles(dir, visit) {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (err.code === 'ENOENT') return;
    throw err;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) await walkFiles(path, visit);
    else await visit(path, e.name);
  }
}

export class DiskLedger {
  constructor(filesDir) {
    this.filesDir = filesDir;
    /** path → size of every complete file seen so far */
    this.known = new Map();
    /** Directories set aside by `renew`. */
    this.renewals = 0;
  }

  /** Files that appeared since the last scan (stat only those), plus temp files still lying around. */
  async scanNew() {
    const fresh = [];
    const temp = [];
    await walkFiles(this.filesDir, async (path, name) => {
      if (TEMP.test(name)) temp.push(path);
      else if (!this.known.has(path)) {
        const st = await stat(path).catch(() => undefined);
        if (!st) return;
        this.known.set(path, st.size);
        fresh.push({ path, size: st.size });
      }
    });
    return { fresh, temp };
  }

  /**
   * Books every file already there as known, without stat-ing it (a million seeded files): only
   * files that appear afterwards are counted. Resolves how many were booked.
   */
  async prime() {
    let count = 0;
    await walkFiles(this.filesDir, (path, name) => {
      if (!TEMP.test(name) && !this.known.has(path)) {
        this.known.set(path, undefined);
        count++;
      }
    });
    return count;
  }

  /**
   * Sets the directory aside as `<dir>.<n>` with every file in it emptied, and puts a new, empty one
   * in its place (a server that writes `<dir>/<name>` goes on writing there): the bytes (tens of GB
   * in a full run) are given back at once, the emptied files go with the run's temporary root.
   * Emptied, not deleted: on ext4 without a journal (the VMs these figures come from), a new file never
   * gets an inode freed less than 60 s before (300 s while its inode table block is unwritten), and
   * each file made near thousands of freshly freed inodes reads past them one by one (perf:
   * recently_deleted, find_get_block_common). With its files deleted between runs, nest-floor took
   * 1.06-1.19 ms of CPU per 4 KiB upload instead of 0.41-0.45, in the kernel of its pool threads.
   */
  async renew() {
    this.renewals += 1;
    const aside = `${this.filesDir}.${this.renewals}`;
    const moved = await rename(this.filesDir, aside).then(
      () => true,
      (err) => {
        if (err.code !== 'ENOENT') throw err;
        return false;
      },
    );
    await mkdir(this.filesDir, { recursive: true });
    if (moved) await walkFiles(aside, (path) => truncate(path, 0));
    this.known.clear();
  }
}

/**
 * Compares one measurement's new files with what the client was told: every acknowledged upload
 * must be a file of the right size. Requests cut off when the load stopped may still have been
 * stored without the client seeing the answer, so up to `inFlight` extra files are expected.
 */
export function checkRun({ acked, size, inFlight, fresh, temp }) {
  const right = fresh.filter((f) => f.size === size).length;
  const wrong = fresh.length - right;
  const lost = Math.max(0, acked - right);
  const issues = [];
  const notes = [];
  if (lost > 0) issues.push(`${lost} of ${acked} acknowledged ${size}-byte uploads missing or wrong size on disk`);
  if (wrong > 0) notes.push(`${wrong} file(s) of the wrong size (partial uploads left behind?)`);
  if (right > acked + inFlight) notes.push(`${right - acked} files more than acknowledged (in flight at most ${inFlight})`);
  if (temp.length > 0) notes.push(`${temp.length} temporary file(s) left after settling`);
  return { acked, files: right, bytes: right * size, expectedBytes: acked * size, wrong, lost, issues, notes };
}
