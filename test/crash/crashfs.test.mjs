// The model of crashfs.py on its own (no service): what each state keeps, op by op.
import assert from 'node:assert/strict';
import {
  closeSync,
  constants,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import { mountCrashFs } from './lib/crashfs.mjs';
import { readJournal } from './lib/journal.mjs';

let work;
before(() => (work = mkdtempSync(join(tmpdir(), 'stowage-crashfs-'))));
after(() => rmSync(work, { recursive: true, force: true }));

/** Mounts a fresh crashfs, runs `body(mnt, now)` (`now()`: the state after the syncs so far), unmounts. */
async function withCrashFs(name, body, options = {}) {
  const dir = join(work, name);
  const paths = { backing: join(dir, 'backing'), mountpoint: join(dir, 'mnt'), journalDir: join(dir, 'journal') };
  for (const path of Object.values(paths)) mkdirSync(path, { recursive: true });
  const fs = await mountCrashFs({ ...paths, ...options });
  try {
    await body(paths.mountpoint, () => readJournal(paths.journalDir).syncCount);
  } finally {
    await fs.unmount();
  }
  const journal = readJournal(paths.journalDir);
  let n = 0;
  /** State k rebuilt: every file as `path: content`, every directory as `path/`. */
  return (k) => {
    const out = join(dir, `state-${(n += 1)}`);
    journal.materialize(k, out);
    const tree = {};
    const walk = (at) => {
      for (const entry of readdirSync(at).sort()) {
        const path = join(at, entry);
        if (statSync(path).isDirectory()) {
          tree[`${relative(out, path)}/`] = true;
          walk(path);
        } else tree[relative(out, path)] = readFileSync(path, 'latin1');
      }
    };
    walk(out);
    return { tree, ino: (path) => statSync(join(out, path)).ino };
  };
}

function syncPath(path) {
  const fd = openSync(path, 'r');
  fsyncSync(fd);
  closeSync(fd);
}

test('data lasts once its file is synced, an entry once its directory is, and nothing else does', async () => {
  const marks = {};
  const state = await withCrashFs('basics', async (mnt, now) => {
    mkdirSync(join(mnt, 'd'));
    const fd = openSync(join(mnt, 'd', 'f'), 'w');
    writeSync(fd, 'abc');
    fsyncSync(fd);
    marks.dataOnly = now();
    syncPath(join(mnt, 'd'));
    marks.noRoot = now();
    syncPath(mnt);
    marks.all = now();
    writeSync(fd, 'XYZ', 0);
    closeSync(fd);
    closeSync(openSync(join(mnt, 'd', 'empty'), 'w'));
    syncPath(join(mnt, 'd'));
    marks.end = now();
  });
  assert.deepEqual(state(0).tree, {});
  assert.deepEqual(state(marks.dataOnly).tree, {});
  assert.deepEqual(state(marks.noRoot).tree, {}, 'd/ itself is not in the root until the root is synced');
  assert.deepEqual(state(marks.all).tree, { 'd/': true, 'd/f': 'abc' });
  assert.deepEqual(
    state(marks.end).tree,
    { 'd/': true, 'd/f': 'abc', 'd/empty': '' },
    'unsynced bytes are dropped, an unsynced file is empty',
  );
});

test('a rename across directories persists with each directory: both names, or neither', async () => {
  const marks = {};
  const state = await withCrashFs('rename', async (mnt, now) => {
    for (const dir of ['a', 'b', 'c']) mkdirSync(join(mnt, dir));
    for (const name of ['x', 'y']) {
      const fd = openSync(join(mnt, 'a', name), 'w');
      writeSync(fd, name);
      fsyncSync(fd);
      closeSync(fd);
    }
    for (const dir of ['a', 'b', 'c', '']) syncPath(join(mnt, dir));
    renameSync(join(mnt, 'a', 'x'), join(mnt, 'b', 'x'));
    syncPath(join(mnt, 'b'));
    marks.targetOnly = now();
    renameSync(join(mnt, 'a', 'y'), join(mnt, 'c', 'y'));
    syncPath(join(mnt, 'a'));
    marks.sourcesOnly = now();
  });
  const both = state(marks.targetOnly);
  assert.equal(both.tree['a/x'], 'x');
  assert.equal(both.tree['b/x'], 'x');
  assert.equal(both.ino('a/x'), both.ino('b/x'), 'one file under two names');
  const neither = state(marks.sourcesOnly).tree;
  assert.ok(!('a/y' in neither) && !('c/y' in neither), 'the source lost the name before the target had it');
});

test('an O_DSYNC write lasts by itself; a truncation lasts with the next sync', async () => {
  const marks = {};
  const state = await withCrashFs('dsync', async (mnt, now) => {
    for (const name of ['dsync', 'cut']) closeSync(openSync(join(mnt, name), 'w'));
    syncPath(mnt);
    const fd = openSync(join(mnt, 'dsync'), constants.O_RDWR | constants.O_DSYNC);
    writeSync(fd, 'hello');
    closeSync(fd);
    const cut = openSync(join(mnt, 'cut'), 'r+');
    writeSync(cut, 'abcdef');
    fsyncSync(cut);
    ftruncateSync(cut, 2);
    writeSync(cut, 'Z', 4);
    marks.beforeSync = now();
    fsyncSync(cut);
    closeSync(cut);
    marks.end = now();
  });
  assert.deepEqual(state(marks.beforeSync).tree, { dsync: 'hello', cut: 'abcdef' });
  assert.deepEqual(state(marks.end).tree, { dsync: 'hello', cut: 'ab\0\0Z' });
});

test('--ignore-fsyncdir: the sync of that directory does nothing', async () => {
  const state = await withCrashFs(
    'ignore',
    async (mnt) => {
      for (const dir of ['staging', 'other']) mkdirSync(join(mnt, dir));
      syncPath(mnt);
      for (const dir of ['staging', 'other']) {
        closeSync(openSync(join(mnt, dir, 'f'), 'w'));
        syncPath(join(mnt, dir));
      }
    },
    { ignoreFsyncdir: 'staging' },
  );
  assert.deepEqual(state(Number.MAX_SAFE_INTEGER).tree, { 'other/': true, 'other/f': '', 'staging/': true });
});
