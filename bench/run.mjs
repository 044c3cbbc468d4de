#!/usr/bin/env node
// `npm run bench [-- --quick]`: builds the service, starts it next to two reference servers
// (bench/baselines/), loads each from separate processes on 127.0.0.1, checks every acknowledged
// upload is on disk, and writes a markdown report. See docs/BENCHMARKS.md for the method.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, relative, resolve } from 'node:path';
import process from 'node:process';
import { parseArgs } from 'node:util';
import { DiskLedger, checkRun } from './lib/ledger.mjs';
import { runLoad } from './lib/load.mjs';
import { describeExit, freePort, killAllNow, runCommand, sampleMemory, startNodeServer, stopAll, stopChild } from './lib/proc.mjs';
import { renderMarkdown } from './lib/report.mjs';
import { runScaleOut } from './scale-out.mjs';
import { formatSize, parseSize } from './lib/stats.mjs';

const ROOT = resolve(import.meta.dirname, '..');
const KiB = 1024;
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

const USAGE = `Usage: npm run bench -- [options]

  --quick              smoke run: 1 run of ~2 s per figure, 64 MiB "large" file (< 2 min in all)
  --runs N             runs per figure; the report shows the median (default 3, quick 1)
  --duration S         seconds per load figure (default 10, quick 2)
  --large-size SIZE    size of the single large upload (default 1GiB, quick 64MiB)
  --servers LIST       comma-separated subset of: raw-stream,naive,service (default all)
  --out PATH           where to write the markdown report
                       (default docs/BENCHMARKS.md; quick: bench/.results/quick.md)
  --skip-build         use the existing dist/ instead of running npm run build
  --keep               keep the temporary storage directories (their path is printed)

Needs about 25 GiB free in the temp dir for a full run (3 GiB for --quick); a full run takes
about 25 minutes on 2 cores. \`node bench/render.mjs\` re-renders a report from saved results.
  -h, --help           this text

Exits non-zero only when the harness itself cannot do its job (bad options, the service does not
build or start, an internal error); missed targets and data-loss flags are reported, not fatal.`;

// ---------------------------------------------------------------------------------------------
// Options

let opts;
try {
  opts = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      runs: { type: 'string' },
      duration: { type: 'string' },
      'large-size': { type: 'string' },
      servers: { type: 'string' },
      out: { type: 'string' },
      'skip-build': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  }).values;
} catch (err) {
  console.error(`${err.message}\n\n${USAGE}`);
  process.exit(2);
}
if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}

const quick = opts.quick;
const positiveNumber = (name, text) => {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`--${name} must be a positive number, got ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return n;
};
const config = {
  quick,
  runs: opts.runs ? Math.round(positiveNumber('runs', opts.runs)) : quick ? 1 : 3,
  durationS: opts.duration ? positiveNumber('duration', opts.duration) : quick ? 2 : 10,
  warmupS: quick ? 1 : 3,
  largeSize: opts['large-size'] ? parseSize(opts['large-size']) : quick ? 64 * MiB : 1 * GiB,
  sizes: [4 * KiB, 64 * KiB, 1 * MiB],
  concurrencies: [1, 32],
  stored: { size: 64 * KiB, concurrency: 2, pollMs: 1 },
  durabilityFigure: { size: 64 * KiB, concurrency: 32 },
  settleTimeoutMs: quick ? 30_000 : 600_000,
  maxFileSize: 2 * GiB,
};
config.largeTimeoutMs = Math.max(60_000, Math.ceil(config.largeSize / (5 * MiB)) * 1000); // ≥ 5 MiB/s or it is broken
config.largeIsReduced = config.largeSize !== GiB;
const outPath = resolve(ROOT, opts.out ?? (quick ? 'bench/.results/quick.md' : 'docs/BENCHMARKS.md'));

const SERVERS = [
  { key: 'raw-stream', label: 'raw-stream', kind: 'baseline', script: 'bench/baselines/raw-stream.mjs', env: {} },
  { key: 'naive', label: 'naive', kind: 'baseline', script: 'bench/baselines/naive.mjs', env: {} },
  { key: 'service', label: 'service (fsync)', kind: 'service', script: 'dist/main.js', env: { DURABILITY: 'fsync' } },
  // Second instance, only for the durability comparison and 202→stored.
  { key: 'service-none', label: 'service (none)', kind: 'service', script: 'dist/main.js', env: { DURABILITY: 'none' } },
];
let wanted = SERVERS;
if (opts.servers) {
  const names = opts.servers.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !['raw-stream', 'naive', 'service'].includes(n));
  if (unknown.length || names.length === 0) {
    console.error(`--servers: unknown ${unknown.join(', ') || '(empty list)'}; use raw-stream,naive,service`);
    process.exit(2);
  }
  wanted = SERVERS.filter((s) => names.includes(s.key) || (s.key === 'service-none' && names.includes('service')));
}

// ---------------------------------------------------------------------------------------------
// Clean-up: temp dirs and child processes go away on success, error, SIGINT/SIGTERM alike.

const TMP_PREFIX = 'stowage-bench-';

/** Removes temp roots left by runs that were killed outright (their owner process is gone). */
function sweepStaleTemp() {
  for (const name of readdirSync(os.tmpdir())) {
    if (!name.startsWith(TMP_PREFIX)) continue;
    const dir = join(os.tmpdir(), name);
    let owner;
    try {
      owner = Number(readFileSync(join(dir, 'owner.pid'), 'utf8'));
    } catch {
      continue; // not ours to judge
    }
    let running = true;
    try {
      process.kill(owner, 0);
    } catch (err) {
      running = err.code === 'EPERM';
    }
    if (!running) rmSync(dir, { recursive: true, force: true });
  }
}
try {
  sweepStaleTemp();
} catch {
  /* best effort */
}
const tmpRoot = mkdtempSync(join(os.tmpdir(), TMP_PREFIX));
writeFileSync(join(tmpRoot, 'owner.pid'), String(process.pid));
let cleanedUp = false;
function removeTemp() {
  if (cleanedUp) return;
  cleanedUp = true;
  if (opts.keep) console.error(`kept storage directories under ${tmpRoot}`);
  else rmSync(tmpRoot, { recursive: true, force: true, maxRetries: 3 });
}
process.on('exit', () => {
  killAllNow();
  removeTemp();
});
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, async () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log(`\n${signal}: stopping servers and removing ${tmpRoot} …`);
    const force = setTimeout(() => process.exit(130), 5000);
    await stopAll().catch(() => undefined);
    clearTimeout(force);
    process.exit(130);
  });
}

function log(line) {
  process.stderr.write(`${line}\n`);
}

// ---------------------------------------------------------------------------------------------
// Small HTTP helpers for the control plane (health, settle checks, clean-up).

async function getJson(url, timeoutMs = 10_000) {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, body };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// State per server

/** @type {Map<string, any>} */
const state = new Map();
const problems = [];

function serverState(def) {
  return {
    def,
    server: undefined,
    storageDir: join(tmpRoot, def.key),
    ledger: new DiskLedger(join(tmpRoot, def.key, 'files')),
    status: 'not started',
    figures: {},
    integrity: { acked: 0, files: 0, bytes: 0, expectedBytes: 0, lost: 0, wrong: 0, issues: [], notes: [] },
    notSettled: 0,
  };
}

function record(s, figure, values) {
  (s.figures[figure] ??= []).push(values);
}

function alive(s) {
  if (!s.server) return false;
  if (s.server.exited && s.status === 'running') {
    s.status = `exited during the run (${describeExit(s.server.exited)})`;
    s.integrity.issues.push(`server ${s.status}`);
    problems.push(`${s.def.label}: ${s.status}. Last output:\n${indent(s.server.output().slice(-2000))}`);
  }
  return s.status === 'running';
}

const indent = (text) =>
  text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');

/**
 * Waits until the server has nothing left to write. Baselines: GET /health `pending` is 0.
 * Service: /health's backlog reaches 0 (cheap), then, as the contract says, both
 * `GET /uploads?status=received&limit=1` and `?status=processing&limit=1` list nothing.
 */
async function settle(s) {
  const started = Date.now();
  try {
    return await settleInner(s, started);
  } finally {
    s.lastSettleMs = Date.now() - started;
  }
}

async function settleInner(s, started) {
  const deadline = started + config.settleTimeoutMs;
  const url = s.server.url;
  if (s.def.kind === 'baseline') {
    for (;;) {
      const h = await getJson(`${url}/health`).catch(() => undefined);
      if (h?.status === 200 && !h.body.pending) {
        const failedWrites = h.body.failedWrites ?? 0;
        if (failedWrites > (s.failedWritesSeen ?? 0)) {
          s.integrity.issues.push(`${failedWrites - (s.failedWritesSeen ?? 0)} write(s) failed after 202 (see the server's log)`);
          s.failedWritesSeen = failedWrites;
        }
        return { settled: true, ms: Date.now() - started };
      }
      if (Date.now() > deadline || !alive(s)) break;
      await sleep(20);
    }
  } else {
    for (;;) {
      const h = await getJson(`${url}/health`).catch(() => undefined);
      const backlog = h?.body?.details?.storage?.backlog ?? h?.body?.info?.storage?.backlog ?? h?.body?.error?.storage?.backlog;
      if (backlog === 0 || (h && backlog === undefined)) break;
      if (Date.now() > deadline || !alive(s)) break;
      await sleep(20);
    }
    for (;;) {
      const [received, processing] = await Promise.all([
        getJson(`${url}/uploads?status=received&limit=1`, 60_000).catch((err) => ({ error: err })),
        getJson(`${url}/uploads?status=processing&limit=1`, 60_000).catch((err) => ({ error: err })),
      ]);
      const empty = (r) => r.status === 200 && Array.isArray(r.body?.items) && r.body.items.length === 0;
      if (empty(received) && empty(processing)) return { settled: true, ms: Date.now() - started };
      for (const r of [received, processing]) {
        if (r.error || (r.status !== 200 && r.status !== undefined)) {
          const why = r.error ? r.error.message : `HTTP ${r.status}: ${JSON.stringify(r.body).slice(0, 200)}`;
          throw new Error(`listing uploads by status failed: ${why}`);
        }
      }
      if (Date.now() > deadline || !alive(s)) break;
      await sleep(50);
    }
  }
  s.notSettled++;
  s.integrity.issues.push(`did not finish storing within ${config.settleTimeoutMs / 1000} s`);
  return { settled: false, ms: Date.now() - started };
}

/** Uploads the service gave up on (status `failed`): each one is an acknowledged upload not stored. */
async function countFailed(s) {
  const failed = await getJson(`${s.server.url}/uploads?status=failed&limit=100`, 60_000);
  if (failed.status !== 200 || !Array.isArray(failed.body?.items)) throw new Error(`GET /uploads?status=failed answered ${failed.status}`);
  const items = failed.body.items;
  if (items.length > 0) {
    const sample = items[0].error;
    s.integrity.issues.push(`${items.length}${failed.body.nextCursor ? '+' : ''} upload(s) ended \`failed\`${sample ? ` (e.g. ${sample.code}: ${sample.message})` : ''}`);
  }
}

/** Counts the files a measurement left and books them against what the client was told. */
async function verify(s, { acked, size, inFlight }) {
  const { fresh, temp } = await s.ledger.scanNew();
  const check = checkRun({ acked, size, inFlight, fresh, temp });
  const t = s.integrity;
  t.acked += check.acked;
  t.files += check.files;
  t.bytes += check.bytes;
  t.expectedBytes += check.expectedBytes;
  t.lost += check.lost;
  t.wrong += check.wrong;
  t.issues.push(...check.issues);
  for (const n of check.notes) if (!t.notes.includes(n)) t.notes.push(n);
  return { check, fresh };
}

// ---------------------------------------------------------------------------------------------
// Measurements

const fmt = (n, digits = 1) => (typeof n === 'number' && Number.isFinite(n) ? n.toFixed(digits) : '—');

async function warmup(s) {
  const size = 64 * KiB;
  const connections = 8;
  const r = await runLoad(
    { type: 'autocannon', url: s.server.url, size, connections, durationS: config.warmupS, timeoutS: 10 },
    (config.warmupS + 30) * 1000,
  );
  await settle(s);
  const { fresh } = await verify(s, { acked: r.acked, size, inFlight: connections });
  await freeBaselineDisk(s, fresh);
}

/**
 * Baselines' files are deleted once counted: at full speed they write tens of GB per full run.
 * The service's stay (its records point at them); only its large uploads are deleted, via the API.
 */
async function freeBaselineDisk(s, fresh) {
  if (s.def.kind !== 'baseline') return;
  for (const f of fresh) await s.ledger.remove(f.path);
}

async function measureLarge(s) {
  const size = config.largeSize;
  const mem = sampleMemory(s.server.pid);
  let r;
  let memory;
  try {
    r = await runLoad({ type: 'stream', url: s.server.url, size, timeoutMs: config.largeTimeoutMs }, config.largeTimeoutMs + 10_000);
    await settle(s); // the peak covers storing too: the service copies after 202, naive writes after 202
  } finally {
    memory = mem.stop();
  }
  const ok = r.status >= 200 && r.status < 300;
  const { check, fresh } = await verify(s, { acked: ok ? 1 : 0, size, inFlight: 0 });
  record(s, 'large', { mbps: ok ? r.mbps : undefined, ms: r.ms, peakRss: memory.peak, hwmReset: memory.hwmReset, status: r.status, non2xx: ok ? 0 : 1 });
  if (!ok) s.integrity.issues.push(`large upload answered ${r.status}: ${JSON.stringify(r.body).slice(0, 300)}`);
  // Free the disk: the service through its API (so its records stay consistent), baselines directly.
  if (s.def.kind === 'service' && ok && r.body?.id) {
    const del = await fetch(`${s.server.url}/uploads/${r.body.id}`, { method: 'DELETE', signal: AbortSignal.timeout(60_000) }).catch((e) => e);
    if (del instanceof Error || del.status !== 204) problems.push(`${s.def.label}: DELETE /uploads/:id answered ${del.status ?? del.message} (expected 204)`);
    for (const f of fresh) s.ledger.known.delete(f.path);
  } else {
    await freeBaselineDisk(s, fresh);
  }
  return `${fmt(r.mbps, 0)} MB/s, peak RSS ${fmt(memory.peak / MiB, 0)} MiB${check.lost ? ', DATA MISSING' : ''}${ok ? '' : `, HTTP ${r.status}`}`;
}

async function measureMany(s, size, connections) {
  const r = await runLoad(
    { type: 'autocannon', url: s.server.url, size, connections, durationS: config.durationS, timeoutS: 30 },
    (config.durationS + 60) * 1000,
  );
  await settle(s);
  const { check, fresh } = await verify(s, { acked: r.acked, size, inFlight: connections });
  await freeBaselineDisk(s, fresh);
  record(s, `many:${size}:${connections}`, r);
  if (r.non2xx) s.integrity.notes.push(`${formatSize(size)} c=${connections}: ${r.non2xx} non-2xx answers (${JSON.stringify(r.statusCodes)})`);
  if (r.errors) s.integrity.notes.push(`${formatSize(size)} c=${connections}: ${r.errors} request errors (${r.timeouts} timeouts)`);
  return `${fmt(r.rps, 0)} req/s, p50 ${fmt(r.p50, 2)} ms, p99 ${fmt(r.p99, 2)} ms, non-2xx ${r.non2xx}, errors ${r.errors}${check.lost ? ', DATA MISSING' : ''}`;
}

async function measureStored(s) {
  const { size, concurrency, pollMs } = config.stored;
  const r = await runLoad(
    { type: 'storedLatency', url: s.server.url, size, concurrency, durationS: config.durationS, pollMs, settleTimeoutMs: 10_000 },
    (config.durationS + 60) * 1000,
  );
  await settle(s);
  const { check } = await verify(s, { acked: r.acked, size, inFlight: concurrency });
  record(s, 'stored', r);
  if (r.non2xx || r.errors) s.integrity.notes.push(`202→stored: ${r.non2xx} non-2xx, ${r.errors} errors`);
  if (r.failed || r.unsettled) s.integrity.issues.push(`202→stored: ${r.failed} failed, ${r.unsettled} not stored within 10 s`);
  return `${r.samples} uploads, stored after p50 ${fmt(r.p50, 0)} ms / p99 ${fmt(r.p99, 0)} ms (server clock), observed p50 ${fmt(r.observedP50, 2)} ms${check.lost ? ', DATA MISSING' : ''}`;
}

function buildPlan() {
  const plan = [];
  const has = (key) => state.has(key);
  const main = ['raw-stream', 'naive', 'service'].filter(has);
  // Interleaved (figure → run → server) so drift on a shared machine hits every server alike.
  for (let run = 1; run <= config.runs; run++) for (const key of main) plan.push({ key, run, label: `large ${formatSize(config.largeSize)}`, fn: (s) => measureLarge(s) });
  for (const size of config.sizes) {
    for (const c of config.concurrencies) {
      const keys = [...main];
      if (has('service-none') && size === config.durabilityFigure.size && c === config.durabilityFigure.concurrency) keys.push('service-none');
      for (let run = 1; run <= config.runs; run++) for (const key of keys) plan.push({ key, run, label: `${formatSize(size)} c=${c}`, fn: (s) => measureMany(s, size, c) });
    }
  }
  for (let run = 1; run <= config.runs; run++) {
    for (const key of ['service', 'service-none'].filter(has)) plan.push({ key, run, label: `202→stored ${formatSize(config.stored.size)} c=${config.stored.concurrency}`, fn: (s) => measureStored(s) });
  }
  return plan;
}

// ---------------------------------------------------------------------------------------------
// Machine facts

const FS_TYPES = { 0xef53: 'ext2/3/4', 0x01021994: 'tmpfs', 0x58465342: 'xfs', 0x9123683e: 'btrfs', 0x794c7630: 'overlayfs', 0x2fc12fc1: 'zfs', 0x6969: 'nfs' };

function machineFacts() {
  const cpus = os.cpus();
  let fsType;
  let freeDiskBytes = Infinity;
  try {
    const st = statfsSync(tmpRoot);
    fsType = FS_TYPES[st.type] ?? `0x${st.type.toString(16)}`;
    freeDiskBytes = st.bavail * st.bsize;
  } catch {
    fsType = 'unknown';
  }
  let commit;
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    commit = `${head}${dirty ? ' + uncommitted changes in src/' : ''}`;
  } catch {
    commit = undefined;
  }
  return {
    date: new Date().toISOString(),
    cores: cpus.length,
    cpuModel: cpus[0]?.model?.trim(),
    memoryBytes: os.totalmem(),
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    storageFs: fsType,
    freeDiskBytes,
    loadStart: os.loadavg(),
    commit,
  };
}

// ---------------------------------------------------------------------------------------------
// Main

async function main() {
  const started = Date.now();
  const machine = machineFacts();
  log(
    `stowage bench: ${quick ? 'QUICK' : 'full'} mode, ${config.runs} run(s) per figure, ${config.durationS} s per load figure, large file ${formatSize(config.largeSize)}`,
  );
  log(`storage under ${tmpRoot}`);
  // The service keeps what it stores (~15 GB in a full run); below its own floor it answers 503.
  const freeGiB = machine.freeDiskBytes / 1024 ** 3;
  const needGiB = quick ? 3 : 25;
  if (freeGiB < needGiB) {
    const warning = `only ${freeGiB.toFixed(1)} GiB free under ${os.tmpdir()}; a ${quick ? 'quick' : 'full'} run wants about ${needGiB} GiB`;
    problems.push(warning);
    log(`WARNING: ${warning}`);
  }
  let fatal;

  // 1. Production build of the service.
  if (wanted.some((d) => d.kind === 'service')) {
    if (opts['skip-build']) log('build: skipped (--skip-build), using existing dist/');
    else {
      log('build: npm run build …');
      const t = Date.now();
      const b = await runCommand('npm', ['run', 'build'], { cwd: ROOT, env: process.env, timeoutMs: 300_000 });
      if (b.code !== 0) {
        fatal = `the service does not build (npm run build: ${b.code}):\n${indent(b.output.slice(-4000))}`;
        problems.push(fatal);
        log(`build FAILED:\n${b.output.slice(-4000)}`);
      } else log(`build: ok in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    }
  }

  // 2. Start every server (a temp storage root each), one after another so start-up is not a race.
  for (const def of wanted) {
    const s = serverState(def);
    state.set(def.key, s);
    if (def.kind === 'service' && fatal) {
      s.status = 'not measured: build failed';
      continue;
    }
    mkdirSync(s.storageDir, { recursive: true });
    try {
      s.server = await startNodeServer({
        name: def.label,
        script: def.script,
        cwd: ROOT,
        port: await freePort(),
        env: {
          NODE_ENV: 'production',
          LOG_LEVEL: 'warn',
          UPLOAD_DIR: s.storageDir,
          MAX_FILE_SIZE: String(config.maxFileSize),
          ...def.env,
        },
      });
      s.status = 'running';
      log(`start: ${def.label} pid ${s.server.pid} on ${s.server.url}`);
    } catch (err) {
      s.status = 'not measured: did not start';
      problems.push(`${def.label}: ${err.message}`);
      log(`start: ${def.label} FAILED: ${err.message}`);
      if (def.kind === 'service') fatal ??= `the service did not start: ${err.message}`;
    }
  }

  // 3. Warm-up (JIT, connection pools, storage dirs); its uploads are verified like the rest.
  // All at once: nothing is measured here, and every server is settled before its first figure.
  const tWarm = Date.now();
  await Promise.all(
    [...state.values()].filter(alive).map((s) =>
      warmup(s).catch((err) => {
        problems.push(`${s.def.label}: warm-up failed: ${err.message}`);
      }),
    ),
  );

  log(`warm-up: ${((Date.now() - tWarm) / 1000).toFixed(1)} s`);

  // 4. The measurements.
  const plan = buildPlan();
  let i = 0;
  for (const task of plan) {
    i++;
    const s = state.get(task.key);
    const head = `[${String(i).padStart(String(plan.length).length)}/${plan.length}] ${task.label.padEnd(22)} run ${task.run}/${config.runs}  ${s.def.label.padEnd(16)}`;
    if (!alive(s)) {
      log(`${head} skipped (${s.status})`);
      continue;
    }
    const t0 = Date.now();
    try {
      const line = await task.fn(s);
      log(`${head} ${line}  (${((Date.now() - t0) / 1000).toFixed(1)} s, settling ${(s.lastSettleMs / 1000).toFixed(1)} s)`);
    } catch (err) {
      problems.push(`${s.def.label}, ${task.label} run ${task.run}: ${err.message}`);
      log(`${head} ERROR ${err.message}`);
    }
  }

  // 5. Final storage check for the service: nothing left unsettled, nothing failed.
  for (const s of state.values()) {
    if (!alive(s) || s.def.kind !== 'service') continue;
    try {
      await settle(s);
      await countFailed(s);
    } catch (err) {
      problems.push(`${s.def.label}: final check: ${err.message}`);
    }
  }

  // 6. Stop the servers; a server that died on SIGTERM is noted, not fatal.
  for (const s of state.values()) {
    if (!s.server) continue;
    alive(s);
    await stopChild(s.server.child);
    if (s.status === 'running') s.status = 'ok';
  }

  // 7. Scale-out (issue 7): stored uploads per second with 1 and 2 BullMQ workers on real Redis.
  let scaleOut;
  if (wanted.some((d) => d.key === 'service')) {
    log('scale-out: 1 vs 2 workers (bullmq)');
    try {
      scaleOut = { results: await runScaleOut({ uploads: quick ? 100 : 600, runs: quick ? 1 : 3, build: false }) };
    } catch (err) {
      scaleOut = { error: String(err?.message ?? err) };
      problems.push(`scale-out: ${scaleOut.error}`);
    }
  }

  machine.loadEnd = os.loadavg();
  const results = { machine, config: { ...config, servers: wanted.map((d) => d.key) }, servers: {}, scaleOut, problems, elapsedS: (Date.now() - started) / 1000 };
  for (const [key, s] of state) {
    results.servers[key] = { label: s.def.label, kind: s.def.kind, status: s.status, figures: s.figures, integrity: s.integrity, env: s.def.env };
  }

  const markdown = renderMarkdown(results);
  mkdirSync(resolve(outPath, '..'), { recursive: true });
  writeFileSync(outPath, markdown);
  const resultsDir = join(ROOT, 'bench', '.results');
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, `${quick ? 'quick' : 'full'}.json`), `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${markdown}\n`);
  log(`report: ${relative(process.cwd(), outPath) || outPath} (${results.elapsedS.toFixed(0)} s in all)`);
  return fatal ? 1 : 0;
}

main().then(
  async (code) => {
    await stopAll().catch(() => undefined);
    removeTemp();
    process.exit(code);
  },
  async (err) => {
    console.error(`bench harness failed: ${err?.stack ?? err}`);
    await stopAll().catch(() => undefined);
    removeTemp();
    process.exit(1);
  },
);
