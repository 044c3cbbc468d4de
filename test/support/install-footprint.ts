import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const REPO = join(import.meta.dirname, '..', '..');

/** What a host has before it adds Stowage: Nest's packages an Express app with events already uses. */
const HOST_PACKAGES = ['@nestjs/common', '@nestjs/core', '@nestjs/platform-express', '@nestjs/event-emitter', 'reflect-metadata', 'rxjs'];

export interface InstallFootprint {
  /** Packages (name@version) the host's own dependencies install. */
  host: number;
  /** Packages that installing the tarball adds on top: what embedding Stowage costs. */
  added: string[];
}

/** Every package a lockfile would install, as name@version. */
async function resolved(dir: string, dependencies: Record<string, string>): Promise<Set<string>> {
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'host', version: '1.0.0', private: true, dependencies }));
  await rm(join(dir, 'package-lock.json'), { force: true });
  // The resolution npm would install, without downloading or running anything.
  await run('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], {
    cwd: dir,
    timeout: 180_000,
  });
  const lock = JSON.parse(await readFile(join(dir, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string; os?: string[]; cpu?: string[] }>;
  };
  // A lockfile lists every platform's prebuilt binaries; an install takes only this machine's.
  const here = (meta: { os?: string[]; cpu?: string[] }) =>
    (meta.os ?? [process.platform]).includes(process.platform) && (meta.cpu ?? [process.arch]).includes(process.arch);
  return new Set(
    Object.entries(lock.packages)
      .filter(([path, meta]) => path !== '' && here(meta))
      .map(([path, meta]) => `${path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length)}@${meta.version}`),
  );
}

/**
 * What `npm install <tarball>` adds to a host that has the usual Nest packages, at the versions this
 * repository uses. Kept in test-output/ per tarball content, since resolving asks the registry.
 */
export async function installFootprint(tarball: string, cacheDir: string): Promise<InstallFootprint> {
  // Read from the files: some packages' exports maps hide their package.json.
  const versions = await Promise.all(
    HOST_PACKAGES.map(async (name) => [
      name,
      (JSON.parse(await readFile(join(REPO, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version,
    ]),
  );
  const host = Object.fromEntries(versions) as Record<string, string>;
  const key = createHash('sha256')
    .update(await readFile(tarball))
    .update(JSON.stringify(host))
    .digest('hex');
  const cache = join(cacheDir, 'install-footprint.json');
  const cached = JSON.parse(await readFile(cache, 'utf8').catch(() => '{}')) as { key?: string; footprint?: InstallFootprint };
  if (cached.key === key && cached.footprint) return cached.footprint;

  const dir = await mkdtemp(join(tmpdir(), 'stowage-host-install-'));
  try {
    const before = await resolved(dir, host);
    const after = await resolved(dir, { ...host, stowage: `file:${tarball}` });
    const footprint = { host: before.size, added: [...after].filter((p) => !before.has(p) && !p.startsWith('stowage@')).sort() };
    await writeFile(cache, JSON.stringify({ key, footprint }, null, 2));
    return footprint;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
