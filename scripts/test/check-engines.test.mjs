// Tests of scripts/check-engines.mjs on fake `npm ls --omit=dev --all --json --long` trees: `node --test scripts/test/`.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { findEngineConflicts, report } from '../check-engines.mjs';

const SCRIPT = fileURLToPath(new URL('../check-engines.mjs', import.meta.url));
const OURS = '^20.19.0 || ^22.12.0 || >=24.0.0';

/** A package as npm ls --long shows it: name, version, engines, dependencies. */
const pkg = (name, version, node, dependencies = {}) => ({
  name,
  version,
  ...(node === undefined ? {} : { engines: { node } }),
  dependencies,
});
const root = (node, dependencies) => ({ name: 'stowage', version: '0.1.0', engines: { node }, dependencies });

describe('findEngineConflicts', () => {
  it('passes a tree whose engines all cover ours, or say nothing', () => {
    const tree = root(OURS, {
      a: pkg('a', '1.0.0', '>=18', { b: pkg('b', '2.0.0', '>= 14') }),
      c: pkg('c', '3.0.0', undefined),
      d: pkg('d', '1.0.0', '^20.19.0 || ^22.12.0 || >=24.0.0'),
    });
    const result = findEngineConflicts(tree);
    assert.deepEqual(result.conflicts, []);
    assert.equal(result.checked, 4);
  });

  it('fails a nested package whose engines exclude part of ours, naming it and the path to it', () => {
    const tree = root('>=20.19.0', {
      '@nestjs/common': pkg('@nestjs/common', '12.5.1', undefined, { 'file-type': pkg('file-type', '22.3.0', '>=22') }),
    });
    assert.deepEqual(findEngineConflicts(tree).conflicts, [
      { id: 'file-type@22.3.0', path: ['@nestjs/common', 'file-type'], wants: '>=22', reason: 'leaves out part of ours, ">=20.19.0"' },
    ]);
  });

  it('fails a range with a gap inside ours (Node 21 here), and one that excludes all of ours', () => {
    const tree = root('>=20.19.0', {
      swagger: pkg('swagger', '1.0.0', '^20.19.0 || >=22.12.0'),
      old: pkg('old', '1.0.0', '<20'),
    });
    const reasons = Object.fromEntries(findEngineConflicts(tree).conflicts.map((c) => [c.id, c.reason]));
    assert.deepEqual(reasons, {
      'swagger@1.0.0': 'leaves out part of ours, ">=20.19.0"',
      'old@1.0.0': 'leaves out all of ours, ">=20.19.0"',
    });
  });

  it('fails an engines.node it cannot read', () => {
    const tree = root(OURS, { weird: pkg('weird', '1.0.0', 'node, latest please') });
    assert.equal(findEngineConflicts(tree).conflicts[0]?.reason, 'not a readable range');
  });

  it('judges each package version once, and skips optional peers that are not installed', () => {
    const bad = () => pkg('bad', '1.0.0', '>=99');
    const tree = root(OURS, {
      x: pkg('x', '1.0.0', undefined, { bad: bad() }),
      y: pkg('y', '1.0.0', undefined, { bad: bad(), absent: {} }),
      bad: bad(),
    });
    const { conflicts, checked } = findEngineConflicts(tree);
    assert.deepEqual(
      conflicts.map((c) => c.path.join(' > ')),
      ['x > bad'],
    );
    assert.equal(checked, 3);
  });

  it('refuses a root without a readable engines.node', () => {
    assert.throws(() => findEngineConflicts({ name: 'stowage', dependencies: {} }), /no readable engines\.node/);
  });
});

describe('report', () => {
  it('prints one line and returns 0 when all is well', () => {
    const lines = [];
    assert.equal(
      report({ declared: OURS, checked: 3, conflicts: [] }, (l) => lines.push(l)),
      0,
    );
    assert.deepEqual(lines, [`engines: all 3 production packages accept node ${OURS}`]);
  });
});

describe('the command', () => {
  const run = async (tree) => {
    const dir = await mkdtemp(join(tmpdir(), 'check-engines-'));
    try {
      await writeFile(join(dir, 'tree.json'), JSON.stringify(tree));
      return await promisify(execFile)(process.execPath, [SCRIPT, '--tree', join(dir, 'tree.json')]).then(
        ({ stdout }) => ({ code: 0, stdout }),
        (err) => ({ code: err.code, stdout: err.stdout }),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };

  it('exits 1 on a tree with an excluding engine, and says which package and what to do', async () => {
    const { code, stdout } = await run(root(OURS, { 'nestjs-pino': pkg('nestjs-pino', '5.2.1', '>=22.12.0') }));
    assert.equal(code, 1);
    assert.match(stdout, /^engines: nestjs-pino@5\.2\.1 wants node ">=22\.12\.0": leaves out part of ours/m);
    assert.match(
      stdout,
      /^engines: 1 of 1 production packages do not accept every node that package.json's engines promises; pick versions that do, or narrow engines\.node$/m,
    );
  });

  it('exits 0 on a tree that fits', async () => {
    const { code, stdout } = await run(root(OURS, { pino: pkg('pino', '10.4.0', '>=20') }));
    assert.equal(code, 0);
    assert.equal(stdout, `engines: all 1 production packages accept node ${OURS}\n`);
  });
});
