#!/usr/bin/env node
// Fails when a production dependency's `engines.node` leaves out a Node version that our own
// `engines.node` promises. npm only warns (EBADENGINE), and only for the Node running the install;
// this checks the whole declared range against the installed production tree (`npm ls --omit=dev`),
// peer dependencies included: they are what an app running Stowage has installed.
//
//   node scripts/check-engines.mjs            # or: npm run check:engines
//   node scripts/check-engines.mjs --tree ls.json   # a saved `npm ls --omit=dev --all --json --long`
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import semver from 'semver';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The packages of `tree` (the shape of `npm ls --all --json --long`) whose engines.node does not
 * accept every version of the root's engines.node. Each package version is judged once, reported
 * with the first path that reached it. Unreadable ranges count as conflicts: they cannot be checked.
 *
 * @returns {{ declared: string, checked: number, conflicts: Array<{ id: string, path: string[], wants: string, reason: string }> }}
 */
export function findEngineConflicts(tree) {
  const declared = tree.engines?.node;
  if (typeof declared !== 'string' || semver.validRange(declared) === null) {
    throw new Error(`the root package has no readable engines.node (found ${JSON.stringify(declared)})`);
  }
  const seen = new Set();
  const conflicts = [];
  const visit = (node, path) => {
    for (const [name, child] of Object.entries(node.dependencies ?? {})) {
      // Optional peers that are not installed appear as `{}`; `missing` ones have nothing to judge.
      if (!child || typeof child.version !== 'string' || child.missing) continue;
      const id = `${child.name ?? name}@${child.version}`;
      const here = [...path, name];
      if (!seen.has(id)) {
        seen.add(id);
        const wants = child.engines?.node;
        const verdict = wants === undefined ? undefined : judge(declared, wants);
        if (verdict) conflicts.push({ id, path: here, wants: String(wants), reason: verdict });
      }
      visit(child, here);
    }
  };
  visit(tree, []);
  return { declared, checked: seen.size, conflicts };
}

/** Why `wants` fails to cover `declared`, or undefined when it covers it. */
function judge(declared, wants) {
  if (typeof wants !== 'string' || semver.validRange(wants) === null) return 'not a readable range';
  if (semver.subset(declared, wants)) return undefined;
  return semver.intersects(declared, wants) ? `leaves out part of ours, "${declared}"` : `leaves out all of ours, "${declared}"`;
}

/** The installed production tree of `cwd`, as npm sees it. */
export async function installedProductionTree(cwd = ROOT) {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  let stdout;
  try {
    ({ stdout } = await promisify(execFile)(npm, ['ls', '--omit=dev', '--all', '--json', '--long'], { cwd, maxBuffer: 256 * 1024 * 1024 }));
  } catch (err) {
    // npm ls exits 1 on problems (an invalid or missing package) but still prints the tree.
    if (typeof err?.stdout !== 'string' || err.stdout === '') throw err;
    stdout = err.stdout;
  }
  return JSON.parse(stdout);
}

/** One line when all is well; otherwise one line per conflict. Returns the exit code. */
export function report({ declared, checked, conflicts }, write = (line) => process.stdout.write(`${line}\n`)) {
  if (conflicts.length === 0) {
    write(`engines: all ${checked} production packages accept node ${declared}`);
    return 0;
  }
  for (const c of conflicts) {
    write(`engines: ${c.id} wants node "${c.wants}": ${c.reason} (via ${c.path.join(' > ')})`);
  }
  write(
    `engines: ${conflicts.length} of ${checked} production packages do not accept every node that package.json's engines promises; pick versions that do, or narrow engines.node`,
  );
  return 1;
}

async function main(argv) {
  const at = argv.indexOf('--tree');
  const tree = at === -1 ? await installedProductionTree() : JSON.parse(await readFile(argv[at + 1], 'utf8'));
  return report(findEngineConflicts(tree));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`engines: check failed to run: ${err?.message ?? err}\n`);
      process.exit(2);
    },
  );
}
