// The scale figures: does the service's cost stay flat as its store grows? Two storage roots are
// seeded (scale-seed.mjs): `baseRecords` (1,000) and `records` (1,000,000) stored uploads. Run by
// run, the service starts on each in turn (DURABILITY=fsync, the default) and the same figures are
// taken on both, so every figure has its 1k twin from the same run:
//   - start-up: from spawning the process to the first 200 from GET /health;
//   - the start-up reconciliation sweep: how long it takes and the process's memory while it runs
//     (sampled from spawning until /health counts the sweep), RSS and its anonymous part;
//   - then, with the sweep done: GET /uploads?limit=N and GET /uploads/{id} (ids spread over all
//     records, shuffled) with wrk, p99 and req/s; and uploads with wrk, req/s and CPU per upload,
//     checked on disk like every other upload figure.
// RECONCILE_INTERVAL_MS=0 keeps a periodic sweep from landing inside the figures. The periodic
// sweeps get their own start: RECONCILE_INTERVAL_MS set, the start-up sweep left to finish, then
// the process's CPU over a few periodic sweeps (each checks RECONCILE_BATCH stored uploads).
import { join } from 'node:path';
import process from 'node:process';
import { uploadLoad } from './figures.mjs';
import { cpuMeter } from './cpu.mjs';
import { flushDirtyPages, freePort, runCommand, sampleMemory, startNodeServer, stopChild } from './proc.mjs';
import { serverState, verify } from './servers.mjs';
import { SERVICE_ENTRY, serviceNodeArgs } from './service-code.mjs';
import { runWrk, writePathsFile } from './wrk.mjs';

const SEED_SCRIPT = join(import.meta.dirname, 'scale-seed.mjs');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const fmt = (n, digits = 1) => (typeof n === 'number' && Number.isFinite(n) ? n.toFixed(digits) : '—');
const MiB = 1024 ** 2;

async function health(url) {
  const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(10_000) });
  const body = await res.json().catch(() => undefined);
  return body?.details?.storage ?? body?.info?.storage ?? body?.error?.storage;
}

/** Seeds one root; resolves its state (a server record the data check can book against). */
async function seed(ctx, records) {
  const { scale } = ctx.config;
  const def = {
    key: `scale-${records}`,
    label: `service, ${records.toLocaleString('en-US')} stored`,
    kind: 'service',
    script: SERVICE_ENTRY,
    env: {},
  };
  const s = serverState(def, ctx.tmpRoot);
  s.idsFile = join(ctx.tmpRoot, `${def.key}-ids.txt`);
  const t = Date.now();
  const args = [SEED_SCRIPT, ctx.root, s.storageDir, String(records), String(scale.seedFileSize), String(scale.getIds), s.idsFile];
  const r = await runCommand(process.execPath, args, { cwd: ctx.root, env: process.env, timeoutMs: 600_000 + records * 2 });
  if (r.code !== 0) throw new Error(`seeding ${records} uploads failed (${r.code}):\n${r.output.slice(-3000)}`);
  s.seed = JSON.parse(r.output.split('\n').findLast((l) => l.startsWith('{')));
  await s.ledger.prime(); // the seeded files are not this run's uploads
  ctx.log(`scale: seeded ${records} stored uploads in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  return s;
}

/** Reads `paths` in turn with wrk for the run's duration. */
function readLoad(ctx, url, pathsFile) {
  const { durationS, scale } = ctx.config;
  return runWrk({ url, mode: 'paths', file: pathsFile, connections: scale.readConnections, durationS });
}

/**
 * Waits until /health counts a finished reconciliation sweep; resolves its `reconciliation` part.
 * Polled every 50 ms, as the sweep's memory figures always were: each /health allocates too.
 */
async function firstSweepDone(server) {
  for (const deadline = Date.now() + 3_600_000; ; await sleep(50)) {
    const r = (await health(server.url).catch(() => undefined))?.reconciliation;
    if (r?.totals?.sweeps >= 1) return r;
    if (Date.now() > deadline || server.exited) throw new Error('the start-up reconciliation sweep did not finish');
  }
}

/** Starts the service on `s`'s seeded store as the scale figures run it; `env` adds to or overrides it. */
async function startOnStore(ctx, s, { name = s.def.label, env = {}, ...options } = {}) {
  return startNodeServer({
    name,
    script: SERVICE_ENTRY,
    nodeArgs: serviceNodeArgs(ctx.root),
    cwd: ctx.root,
    port: await freePort(),
    readyTimeoutMs: 120_000,
    ...options,
    env: {
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      UPLOAD_DIR: s.storageDir,
      MAX_FILE_SIZE: String(ctx.config.maxFileSize),
      DURABILITY: 'fsync',
      RECONCILE_INTERVAL_MS: '0', // no periodic sweep lands in a figure
      ...env,
    },
  });
}

/**
 * The service started again on the same store with periodic sweeps on: once the start-up sweep is
 * done, the process's CPU (all threads) over `scale.periodic.periods` periods, per sweep that ended
 * in them (from /health's totals, read at both ends only: polling /health costs CPU too). The
 * process is otherwise idle (about 0.5 % of a core), which is counted too.
 */
async function measurePeriodic(ctx, s) {
  const { intervalMs, periods } = ctx.config.scale.periodic;
  const server = await startOnStore(ctx, s, {
    name: `${s.def.label}, periodic sweeps`,
    env: { RECONCILE_INTERVAL_MS: String(intervalMs) },
  });
  try {
    const before = (await firstSweepDone(server)).totals;
    const meter = cpuMeter(server.pid);
    await sleep(periods * intervalMs);
    const cpuS = meter.seconds();
    const after = (await health(server.url))?.reconciliation?.totals;
    const ended = (after?.sweeps ?? 0) - before.sweeps;
    if (cpuS === undefined || ended < 1) throw new Error(`no periodic sweep ended in ${periods} periods (or the service exited)`);
    // Stored uploads checked per sweep, on average: a pass over the store can end inside the count.
    return { cpuPerSweepMs: (cpuS * 1000) / ended, checked: (after.storedChecked - before.storedChecked) / ended };
  } finally {
    await stopChild(server.child);
  }
}

/** One start of the service on a seeded root, and the figures; resolves the run's record. */
async function measureOnce(ctx, s, listFile) {
  const { scale, durationS } = ctx.config;
  let memory;
  try {
    s.server = await startOnStore(ctx, s, {
      pollMs: 10, // start-up is a figure: poll often enough not to add to it
      onSpawn: (pid) => (memory = sampleMemory(pid)),
    });
  } catch (err) {
    memory?.stop();
    throw err;
  }
  s.status = 'running';
  try {
    const startupMs = s.server.readyMs;
    const sweep = (await firstSweepDone(s.server)).last;
    const mem = memory.stop();
    memory = undefined;
    const sweepMs = Date.parse(sweep.at) - s.server.spawnedAt; // the sweep's own end, on the same clock
    const findings = sweep.missingContent + sweep.orphanedContent + sweep.staleStaging + sweep.staleIncomplete;
    if (findings > 0) s.integrity.issues.push(`the sweep found disagreements in the seeded store: ${JSON.stringify(sweep)}`);

    const list = await readLoad(ctx, s.server.url, listFile);
    const get = await readLoad(ctx, s.server.url, s.idsFile);
    const { size, concurrency } = scale.upload;
    const upload = await uploadLoad(ctx, s, { size, connections: concurrency, durationS });
    const { check } = await verify(s, { acked: upload.acked, size, inFlight: concurrency });
    for (const [what, r] of [
      ['list', list],
      ['get', get],
      ['upload', upload],
    ]) {
      if (r.non2xx || r.errors) s.integrity.notes.push(`${what}: ${r.non2xx} answers ≥ 400, ${r.errors} request errors`);
    }
    await stopChild(s.server.child);
    const periodic = await measurePeriodic(ctx, s);
    const run = {
      startupMs,
      sweepMs,
      sweepPeakRss: mem.peak,
      sweepPeakAnon: mem.peakAnon,
      sweepPeakFile: mem.peakFile,
      list,
      get,
      upload,
      periodic,
    };
    (s.figures.scale ??= []).push(run);
    return `start-up ${fmt(startupMs / 1000, 2)} s, sweep ${fmt(sweepMs / 1000, 1)} s (peak RSS ${fmt(mem.peak / MiB, 0)} MiB, anon ${fmt(mem.peakAnon / MiB, 0)}), list p99 ${fmt(list.p99, 2)} ms, get p99 ${fmt(get.p99, 2)} ms, upload ${fmt(upload.rps, 0)} req/s${check.lost ? ', DATA MISSING' : ''}, periodic sweep ${fmt(periodic.cpuPerSweepMs, 0)} ms CPU (${fmt(periodic.checked, 0)} checked)`;
  } finally {
    memory?.stop();
    await stopChild(s.server.child);
    if (s.server.exited && s.server.exited.code !== 0 && s.server.exited.signal !== 'SIGTERM')
      s.integrity.issues.push(`exited ${JSON.stringify(s.server.exited)}`);
    s.status = 'ok';
  }
}

/** The scale group: seeds both roots, then measures them interleaved, run by run. */
export async function measureScale(ctx) {
  const { runs, scale } = ctx.config;
  const sets = [];
  try {
    for (const records of [scale.baseRecords, scale.records]) sets.push(await seed(ctx, records));
  } catch (err) {
    ctx.problems.push(`scale: ${err.message}`);
    return { error: err.message };
  }
  const listFile = writePathsFile(ctx.tmpRoot, [`/uploads?limit=${scale.listLimit}`]);
  for (let run = 1; run <= runs; run++) {
    for (const s of sets) {
      await flushDirtyPages(); // seeding and the run before leave dirty pages: nobody's start should pay for them
      const t = Date.now();
      try {
        const line = await measureOnce(ctx, s, listFile);
        ctx.log(`scale ${s.def.key.padEnd(14)} run ${run}/${runs}  ${line}  (${((Date.now() - t) / 1000).toFixed(1)} s)`);
      } catch (err) {
        ctx.problems.push(`scale, ${s.def.label}, run ${run}: ${err.message}`);
        ctx.log(`scale ${s.def.key} run ${run}/${runs} ERROR ${err.message}`);
      }
    }
  }
  return {
    sets: sets.map((s) => ({ records: s.seed.records, seed: s.seed, label: s.def.label, figures: s.figures, integrity: s.integrity })),
  };
}
