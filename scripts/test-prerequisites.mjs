#!/usr/bin/env node
// What the test suites need outside node_modules: Redis on 127.0.0.1:6379, Debian's Chromium for
// the browser tests, wrk for the bench harness's tests, FUSE with fusepy for the outage tests' fault
// layer, and moto's S3 server (moto_server) for the S3 tests. The pretest step and jest's global setups call these before any test runs (so `npm test`
// prepares them); `node scripts/test-prerequisites.mjs [redis] [chromium] [wrk] [fuse] [moto]` does the same by hand.
//
// Silent when all is there. As root, a missing Chromium, wrk or FUSE is installed with apt-get (one line says so);
// otherwise a missing prerequisite stops the run with one line saying what to start or install.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { connect } from 'node:net';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A prerequisite that is missing. Its stack is its message, so jest prints this one line and nothing else. */
export class MissingPrerequisite extends Error {
  constructor(message) {
    super(message);
    this.name = 'MissingPrerequisite';
    this.stack = message;
  }
}

export const REDIS_HOST = '127.0.0.1';
export const REDIS_PORT = 6379;

/** Resolves when a Redis answers PING at host:port; rejects with one line saying what to start or install. */
export async function ensureRedis({ host = REDIS_HOST, port = REDIS_PORT, timeoutMs = 3000 } = {}) {
  const problem = await new Promise((resolve) => {
    const socket = connect({ host, port });
    let answer = '';
    const done = (result) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs} ms`));
    socket.on('error', (err) => done(err.code ?? err.message));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1');
      if (answer.includes('\r\n'))
        done(answer.startsWith('+PONG') ? undefined : `answered ${JSON.stringify(answer.trim().slice(0, 80))} to PING`);
    });
    socket.on('end', () => done(`closed the connection${answer ? ` after ${JSON.stringify(answer.trim().slice(0, 80))}` : ''}`));
  });
  if (problem !== undefined) {
    throw new MissingPrerequisite(
      `Redis is not answering on ${host}:${port} (${problem}): the tests need it; start it with \`redis-server --daemonize yes\` (if it is not installed: \`apt-get install redis-server\`), then run npm test again`,
    );
  }
}

export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

function isExecutable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes sure the browser tests' Chromium (CHROMIUM_PATH, else Debian's /usr/bin/chromium) is there.
 * Silent when it is; as root, installs Debian's `chromium` package with apt-get, announced in one line;
 * otherwise throws one line saying what to install. `isRoot`, `install`, `say` and `executable` are seams for tests.
 */
export function ensureChromium({
  path = process.env.CHROMIUM_PATH || DEFAULT_CHROMIUM,
  isRoot = process.getuid?.() === 0,
  install = aptGetInstallChromium,
  say = (line) => process.stderr.write(`${line}\n`),
  executable = isExecutable,
} = {}) {
  if (executable(path)) return;
  const custom = path !== DEFAULT_CHROMIUM;
  const where = custom ? `${path} (CHROMIUM_PATH)` : path;
  if (!isRoot) {
    throw new MissingPrerequisite(
      `Chromium for the browser tests is missing at ${where}: install Debian's chromium package as root (\`sudo apt-get install chromium\`)${custom ? ', or point CHROMIUM_PATH at a Chromium executable' : ''}, then run npm test again`,
    );
  }
  say(`Chromium for the browser tests is missing at ${where}: installing Debian's chromium package (apt-get install chromium)...`);
  try {
    install();
  } catch (err) {
    throw new MissingPrerequisite(`Could not install Chromium for the browser tests: ${err?.message ?? err}`);
  }
  if (!executable(path)) {
    throw new MissingPrerequisite(
      `Debian's chromium package is installed, but ${where} is still not an executable: ${
        custom
          ? `unset CHROMIUM_PATH to use ${DEFAULT_CHROMIUM}, or point it at a Chromium executable`
          : 'reinstall it (`apt-get install --reinstall chromium`)'
      }`,
    );
  }
}

/** `apt-get update` and `apt-get install -y chromium`, quietly; on failure, the last line apt printed. */
export function aptGetInstallChromium() {
  aptGetInstall('chromium');
}

/**
 * Makes sure something the tests run from Debian's packages is there (`found()`). Same manner as
 * Chromium: silent when there, installed as root with one line saying so, one line saying what to
 * install otherwise.
 */
function ensureDebianPackages({ what, packages, found, isRoot, install, say }) {
  if (found()) return;
  const list = packages.join(' ');
  const named = packages.length === 1 ? `Debian's ${list} package` : `Debian's packages ${list}`;
  if (!isRoot)
    throw new MissingPrerequisite(`${what}: install ${named} as root (\`sudo apt-get install ${list}\`), then run npm test again`);
  say(`${what}: installing ${named} (apt-get install ${list})...`);
  try {
    install();
  } catch (err) {
    throw new MissingPrerequisite(`Could not install ${list}: ${err?.message ?? err}`);
  }
  if (!found()) throw new MissingPrerequisite(`${named} ${packages.length === 1 ? 'is' : 'are'} installed, but still: ${what}`);
}

/** The bench harness's load generator, Debian's `wrk`, on PATH (its tests run it). */
export function ensureWrk({
  isRoot = process.getuid?.() === 0,
  install = () => aptGetInstall('wrk'),
  say = (line) => process.stderr.write(`${line}\n`),
  found = () => spawnSync('wrk', ['--version'], { stdio: 'ignore' }).error === undefined,
} = {}) {
  ensureDebianPackages({
    what: "wrk, the benchmark harness's load generator, is not on PATH",
    packages: ['wrk'],
    found,
    isRoot,
    install,
    say,
  });
}

/**
 * FUSE and Debian's fusepy, for the fault layer of the outage tests (and the power-loss tests):
 * test/crash/check-tools.mjs finds them as the layer will.
 */
export function ensureFuse({
  isRoot = process.getuid?.() === 0,
  install = () => aptGetInstall('fuse3', 'python3-fusepy'),
  say = (line) => process.stderr.write(`${line}\n`),
  found = () =>
    spawnSync(process.execPath, [join(import.meta.dirname, '..', 'test', 'crash', 'check-tools.mjs')], { stdio: 'ignore' }).status === 0,
} = {}) {
  ensureDebianPackages({
    what: 'FUSE for the file-system fault layer is missing (fusermount3, or python3 with fusepy)',
    packages: ['fuse3', 'python3-fusepy'],
    found,
    isRoot,
    install,
    say,
  });
}

/** `apt-get update` and `apt-get install -y <pkgs>`, quietly; on failure, the last line apt printed. */
function aptGetInstall(...pkgs) {
  const pkg = pkgs.join(' ');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Waits for another apt/dpkg (say, a second test run installing at the same time) instead of failing.
  const lock = ['-o', 'DPkg::Lock::Timeout=300'];
  const steps = [
    ['apt-get update', ['-qq', ...lock, 'update']],
    [`apt-get install ${pkg}`, ['-qq', '-y', ...lock, 'install', ...pkgs]],
  ];
  for (const [step, args] of steps) {
    const run = spawnSync('apt-get', args, {
      env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
      timeout: 15 * 60_000,
    });
    if (run.error) throw new Error(`${step}: ${run.error.message}`);
    if (run.status !== 0) {
      const last =
        `${run.stdout}\n${run.stderr}`
          .split('\n')
          .map((l) => l.trim())
          .filter(Boolean)
          .at(-1) ?? `exit code ${run.status}`;
      throw new Error(`${step} failed: ${last}`);
    }
  }
}

export const MOTO_SERVER = 'moto_server';

/**
 * The path of `moto_server` (Python moto's S3 server, which the S3 tests run against) on PATH, or
 * one line saying what to install. `path` and `executable` are seams for tests.
 */
export function ensureMotoServer({ path = process.env.PATH ?? '', executable = isExecutable } = {}) {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, MOTO_SERVER);
    if (executable(candidate)) return candidate;
  }
  throw new MissingPrerequisite(
    `${MOTO_SERVER} is not on PATH: the S3 tests run against moto's S3 server; install it with \`pip install 'moto[server]'\` (Python 3; moto 5), then run npm test again`,
  );
}

const CHECKS = {
  redis: () => ensureRedis(),
  chromium: () => ensureChromium(),
  wrk: () => ensureWrk(),
  fuse: () => ensureFuse(),
  moto: () => ensureMotoServer(),
};

async function main(names) {
  for (const name of names.length > 0 ? names : Object.keys(CHECKS)) {
    if (!(name in CHECKS)) throw new MissingPrerequisite(`unknown prerequisite "${name}"; choose from ${Object.keys(CHECKS).join(', ')}`);
    await CHECKS[name]();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (err) => {
      process.stderr.write(`${err instanceof MissingPrerequisite ? err.message : (err?.stack ?? err)}\n`);
      process.exit(1);
    },
  );
}
