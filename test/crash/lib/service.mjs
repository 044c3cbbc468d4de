// The compiled service as a child process: built once per run, started on a storage root, killed.
import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const REPO = join(import.meta.dirname, '..', '..', '..');
const BUILD_DIR = join(REPO, 'test-output', 'crash-build');

/** The service's compiled entry point, relative to the build output: the one place to change when src/ moves. */
export const SERVICE_ENTRY = 'app/main.js';

/** Compiles src/ into a private folder (as the e2e globalSetup does), so dist/ is left alone. */
export function buildService() {
  try {
    execFileSync(
      process.execPath,
      [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(REPO, 'tsconfig.build.json'), '--outDir', BUILD_DIR],
      {
        cwd: REPO,
        stdio: 'pipe',
      },
    );
  } catch (err) {
    // Exit 2: type errors with the output still emitted; `npm test` reports those.
    if (err.status !== 2) throw err;
  }
  return join(BUILD_DIR, SERVICE_ENTRY);
}

/** A TCP port that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Bounds a start-up (about 2 s of CPU; far longer on a busy machine). */
const START_TIMEOUT_MS = 60_000;

const live = new Set();
process.on('exit', () => {
  for (const proc of live) proc.kill('SIGKILL');
});

/**
 * Starts the service on `root` and resolves once Nest reports it listening (its own log line, not a
 * poll). Rejects with the output if it exits first or takes longer than START_TIMEOUT_MS.
 */
export async function startService(entry, root, env = {}) {
  const port = await freePort();
  const proc = spawn(process.execPath, [entry], {
    env: {
      ...process.env,
      PORT: String(port),
      UPLOAD_DIR: root,
      LOG_LEVEL: 'info',
      RECONCILE_INTERVAL_MS: '0',
      MIN_FREE_DISK_BYTES: '0',
      UPLOAD_MIN_BYTES_PER_SEC: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  const lines = [];
  let stderr = '';
  proc.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)));
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  void exited.then(() => live.delete(proc));
  const started = new Promise((resolve) => {
    createInterface({ input: proc.stdout }).on('line', (line) => {
      lines.push(line);
      if (line.includes('Nest application successfully started')) resolve(true);
    });
  });
  let timer;
  const timedOut = new Promise((resolve) => (timer = setTimeout(() => resolve(false), START_TIMEOUT_MS)));
  const ok = await Promise.race([started, exited.then(() => false), timedOut]);
  clearTimeout(timer);
  if (!ok) proc.kill('SIGKILL');
  const service = {
    pid: proc.pid,
    url: `http://127.0.0.1:${port}`,
    lines,
    exited,
    output: () => `${lines.slice(-15).join('\n')}\n${stderr}`,
    /** SIGKILL: what a power cut does to the process. */
    kill: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
  if (!ok) throw Object.assign(new Error(`the service did not start on ${root}:\n${service.output()}`), { service });
  return service;
}
