// Reads crashfs's journal and rebuilds the durable image as it stood after any sync: what a power
// cut at that moment leaves on the disk.
import { closeSync, ftruncateSync, linkSync, mkdirSync, openSync, readFileSync, symlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/**
 * @typedef {{ seq: number, t: bigint, kind: 'file'|'dir'|'ignored', obj?: number, path?: string }} Sync
 * A crash state is the image after sync `k` (0: what existed at mount), before sync `k + 1` began.
 */
export function readJournal(dir) {
  const types = new Map();
  const bases = new Map();
  const syncs = [];
  let root;
  for (const line of readFileSync(join(dir, 'journal.jsonl'), 'utf8').split('\n')) {
    if (!line) continue;
    const record = JSON.parse(line);
    if (record.op === 'obj') types.set(record.obj, { type: record.type, target: record.target });
    else if (record.op === 'root') root = record.obj;
    else if (record.op === 'base') bases.set(record.obj, record.path);
    else if (record.op === 'sync') syncs.push({ ...record, t: BigInt(record.t) });
  }
  const last = syncs.length === 0 ? 0 : syncs[syncs.length - 1].seq;
  return {
    /**
     * The states worth restarting from: state k is left out when sync k + 1 made nothing new durable
     * (LMDB's O_DSYNC meta write is followed by an empty fsync, a directory synced twice...), since
     * state k + 1 then has the same image and asks strictly more (every answer received before it).
     */
    distinctStates() {
      const entries = new Map();
      const sizes = new Map();
      const changes = (sync) => {
        if (sync.kind === 'dir') {
          const listing = JSON.stringify(Object.entries(sync.entries).sort());
          const same = entries.get(sync.obj) === listing;
          entries.set(sync.obj, listing);
          return !same;
        }
        if (sync.kind !== 'file') return false;
        const same = sync.ranges.length === 0 && sync.cut === null && (sizes.get(sync.obj) ?? 0) === sync.size;
        sizes.set(sync.obj, sync.size);
        return !same;
      };
      const states = [];
      for (const sync of syncs) {
        if (sync.seq > 0 && changes(sync)) states.push(sync.seq - 1);
        else if (sync.seq === 0) changes(sync);
      }
      states.push(last);
      return [...new Set(states)];
    },
    dir,
    /** Number of syncs the run made: the crash states are 0..syncCount. */
    syncCount: last,
    syncs: syncs.filter((s) => s.seq > 0),
    /** The sync that ends state `k`, if any. */
    nextSync(k) {
      return syncs.find((s) => s.seq === k + 1);
    },
    /** When sync `k + 1` began (CLOCK_MONOTONIC ns): an answer received before it was sent in state `k`. */
    cutTime(k) {
      return syncs.find((s) => s.seq === k + 1)?.t ?? BigInt(Number.MAX_SAFE_INTEGER) * 1_000_000n;
    },
    /** Writes the image after sync `k` into the empty or missing folder `out`. */
    materialize(k, out) {
      const entries = new Map();
      const patches = new Map();
      for (const sync of syncs) {
        if (sync.seq > k) break;
        if (sync.kind === 'dir') entries.set(sync.obj, sync.entries);
        else if (sync.kind === 'file') patches.set(sync.obj, [...(patches.get(sync.obj) ?? []), sync]);
      }
      const made = new Map(); // object -> first path, so a second entry becomes a hard link
      const writeDir = (obj, path) => {
        mkdirSync(path, { recursive: true });
        made.set(obj, path);
        for (const [name, child] of Object.entries(entries.get(obj) ?? {})) {
          const target = join(path, name);
          const { type, target: linkTarget } = types.get(child);
          if (type === 'dir') {
            if (!made.has(child)) writeDir(child, target); // one directory can't be in two places
          } else if (type === 'symlink') symlinkSync(linkTarget, target);
          else if (made.has(child)) linkSync(made.get(child), target);
          else {
            writeFile(child, target);
            made.set(child, target);
          }
        }
      };
      const writeFile = (obj, path) => {
        const fd = openSync(path, 'wx');
        try {
          if (bases.has(obj)) writeSync(fd, readFileSync(join(dir, bases.get(obj))), 0, undefined, 0);
          for (const patch of patches.get(obj) ?? []) {
            if (patch.cut !== null) ftruncateSync(fd, patch.cut);
            const bytes = readFileSync(join(dir, patch.patch));
            let at = 0;
            for (const [start, end] of patch.ranges) {
              writeSync(fd, bytes, at, end - start, start);
              at += end - start;
            }
            ftruncateSync(fd, patch.size);
          }
        } finally {
          closeSync(fd);
        }
      };
      writeDir(root, out);
    },
  };
}
