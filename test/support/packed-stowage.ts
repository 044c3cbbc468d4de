import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const hostApp = join(repo, 'test', 'host-app');
/** The last packed tarball, kept for the suite that measures what installing it brings. */
export const packedTarball = join(repo, 'test-output', 'stowage.tgz');
/** Where the host app finds `stowage`, as if `npm install ./stowage-x.y.z.tgz` had put it there. */
export const installedPackage = join(hostApp, 'node_modules', 'stowage');
const stamp = join(installedPackage, '.packed-at');
// What the tarball is built from, and the host app whose types are checked against it.
const packInputs = ['src', 'docs', 'package.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md', 'test/host-app'];

async function newestMtime(path: string): Promise<number> {
  const info = await stat(path).catch(() => undefined);
  if (!info) return 0;
  if (!info.isDirectory()) return path.endsWith('.spec.ts') ? 0 : info.mtimeMs;
  const entries = (await readdir(path)).filter((e) => e !== 'node_modules');
  const times = await Promise.all(entries.map((e) => newestMtime(join(path, e))));
  return Math.max(info.mtimeMs, ...times);
}

function run(command: string, args: string[], cwd: string): string {
  try {
    return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`, { cause: err });
  }
}

/**
 * Packs the repository with `npm pack` (its `prepack` builds dist/) and unpacks the tarball into
 * test/host-app/node_modules/stowage, so the host app resolves `stowage` and `stowage/testing` the
 * way an installed consumer does: through the tarball's `files` and `exports`. The host app's types
 * are then checked against the packed `.d.ts` files. Skipped while nothing the package is built
 * from changed since the last pack.
 */
export async function installPackedStowage(): Promise<void> {
  const built = (await stat(stamp).catch(() => undefined))?.mtimeMs ?? 0;
  const inputs = await Promise.all(packInputs.map((p) => newestMtime(join(repo, p))));
  if (built > Math.max(...inputs) && (await stat(packedTarball).catch(() => undefined))) return;

  const work = await mkdtemp(join(tmpdir(), 'stowage-pack-'));
  // Unpacked next to its final place, then swapped in, so a half-extracted package is never used.
  const staging = `${installedPackage}.${process.pid}`;
  try {
    const [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], repo)) as Array<{ filename: string }>;
    await rm(staging, { recursive: true, force: true });
    await mkdir(staging, { recursive: true });
    run('tar', ['-xzf', join(work, packed.filename), '-C', staging, '--strip-components=1'], repo);
    await mkdir(dirname(packedTarball), { recursive: true });
    await copyFile(join(work, packed.filename), packedTarball);
    await rm(installedPackage, { recursive: true, force: true });
    await rename(staging, installedPackage);
  } finally {
    await rm(work, { recursive: true, force: true });
    await rm(staging, { recursive: true, force: true });
  }
  run(process.execPath, [join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(hostApp, 'tsconfig.json')], repo);
  await writeFile(stamp, new Date().toISOString());
}
