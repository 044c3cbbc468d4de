// The per-server measurements (figure groups, see FIGURES in options.mjs) and the plan that orders
// them. Each measure function loads one server, waits until it settles, verifies what it wrote,
// records the figures and resolves a one-line summary for the log. The scale and scale-out groups
// start services of their own (scale.mjs, ../scale-out.mjs).
import { runScaleOut } from '../scale-out.mjs';
import { cpuMeter } from './cpu.mjs';
import { runLoad } from './load.mjs';
import { COMPANIONS } from './options.mjs';
import { readMemory, sampleMemory } from './proc.mjs';
import { freeBaselineDisk, settle, verify } from './servers.mjs';
import { formatSize, median } from './stats.mjs';
import { runWrk, writeUploadTemplate } from './wrk.mjs';

const KiB = 1024;
const MiB = 1024 ** 2;

const fmt = (n, digits = 1) => (typeof n === 'number' && Number.isFinite(n) ? n.toFixed(digits) : '—');
const pct = (fraction) => `${fmt(fraction * 100, 0)}%`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function record(s, figure, values) {
  (s.figures[figure] ??= []).push(values);
}

/**
 * wrk posting `size`-byte uploads to `s` on `connections` connections for `durationS`, then settling.
 * Server CPU (all its threads) is counted from just before the load until the server has settled,
 * so work a server defers past its 202 (the service stores in the background) is in the figure.
 */
export async function uploadLoad(ctx, s, { size, connections, durationS }) {
  const url = `${s.server.url}/uploads`;
  const template = writeUploadTemplate(ctx.tmpRoot, {
    url,
    size,
    tag: `${s.def.key}-${formatSize(size).replace(' ', '')}-${Date.now().toString(36)}`,
  });
  const cpu = cpuMeter(s.server.pid);
  const r = await runWrk({ url, mode: 'upload', file: template, connections, durationS });
  const serverCpuLoadS = cpu.seconds();
  await settle(ctx, s);
  const { userS, systemS, mainS } = cpu.split() ?? {};
  const serverCpuS = userS + systemS;
  return {
    ...r,
    serverCpuLoadS,
    serverCpuS,
    serverCpuSystemS: systemS, // of serverCpuS: kept in the results for whoever digs into CPU

    serverCpu: serverCpuLoadS / r.seconds, // share of one core while the load ran
    cpuPerUploadMs: r.acked > 0 ? (serverCpuS * 1000) / r.acked : undefined,
    // Of it, the main thread's (the event loop); the rest is V8's GC and compiler threads, libuv's pool, LMDB's writer.
    mainCpuPerUploadMs: r.acked > 0 ? (mainS * 1000) / r.acked : undefined,
  };
}

/** JIT, connection pools, storage dirs; its uploads are verified like the rest, not recorded. */
export async function warmup(ctx, s) {
  const size = 64 * KiB;
  const connections = 8;
  // A server measured at the target figures only misses the figures that warm the others before them
  // (nest-floor's rate still grows for about 20 s of load): it gets more of its warm-up here.
  const durationS = ctx.config.warmupS * (s.def.onlyAtTargetFigures ? 5 : 1);
  const r = await uploadLoad(ctx, s, { size, connections, durationS });
  await verify(s, { acked: r.acked, size, inFlight: connections });
  await freeBaselineDisk(s);
}

/**
 * Resident memory of an idle server after the warm-up (what it costs to keep it running): the
 * median of 5 readings over a second, taken once every server has settled and the machine is quiet.
 */
export async function measureIdle(s, figure = 'idle') {
  const readings = [];
  for (let i = 0; i < 5; i++) {
    const m = readMemory(s.server.pid);
    if (m) readings.push(m);
    await sleep(250);
  }
  const mid = (field) => median(readings.map((m) => m[field]));
  record(s, figure, { rss: mid('rss'), anon: mid('anon'), file: mid('file') });
}

async function measureLarge(ctx, s) {
  const { largeSize: size, largeTimeoutMs } = ctx.config;
  const mem = sampleMemory(s.server.pid);
  let r;
  let memory;
  try {
    r = await runLoad({ type: 'stream', url: s.server.url, size, timeoutMs: largeTimeoutMs }, largeTimeoutMs + 10_000);
    await settle(ctx, s); // the peak covers storing too: the service copies after 202, naive writes after 202
  } finally {
    memory = mem.stop();
  }
  const ok = r.status >= 200 && r.status < 300;
  const { check, fresh } = await verify(s, { acked: ok ? 1 : 0, size, inFlight: 0 });
  record(s, 'large', {
    mbps: ok ? r.mbps : undefined,
    ms: r.ms,
    peakRss: memory.peak,
    startRss: memory.start,
    hwmReset: memory.hwmReset,
    status: r.status,
    non2xx: ok ? 0 : 1,
  });
  if (!ok) s.integrity.issues.push(`large upload answered ${r.status}: ${JSON.stringify(r.body).slice(0, 300)}`);
  // Free the disk: the service through its API (so its records stay consistent), baselines directly.
  if (s.def.kind === 'service' && ok && r.body?.id) {
    const del = await fetch(`${s.server.url}/uploads/${r.body.id}`, { method: 'DELETE', signal: AbortSignal.timeout(60_000) }).catch(
      (e) => e,
    );
    if (del instanceof Error || del.status !== 204)
      ctx.problems.push(`${s.def.label}: DELETE /uploads/:id answered ${del.status ?? del.message} (expected 204)`);
    for (const f of fresh) s.ledger.known.delete(f.path);
  } else {
    await freeBaselineDisk(s);
  }
  return `${fmt(r.mbps, 0)} MB/s, RSS +${fmt((memory.peak - memory.start) / MiB, 0)} MiB (peak ${fmt(memory.peak / MiB, 0)} MiB)${check.lost ? ', DATA MISSING' : ''}${ok ? '' : `, HTTP ${r.status}`}`;
}

async function measureMany(ctx, s, size, connections, run) {
  const r = await uploadLoad(ctx, s, { size, connections, durationS: ctx.config.durationS });
  const { check } = await verify(s, { acked: r.acked, size, inFlight: connections });
  await freeBaselineDisk(s);
  record(s, `many:${size}:${connections}`, { ...r, run }); // the run pairs it with the other servers' (report-view)
  if (r.non2xx) s.integrity.notes.push(`${formatSize(size)} c=${connections}: ${r.non2xx} answers ≥ 400`);
  if (r.errors) s.integrity.notes.push(`${formatSize(size)} c=${connections}: ${r.errors} request errors (${r.timeouts} timeouts)`);
  return `${fmt(r.rps, 0)} req/s, p50 ${fmt(r.p50, 2)} ms, p99 ${fmt(r.p99, 2)} ms, CPU ${fmt(r.cpuPerUploadMs, 3)} ms/upload (server ${pct(r.serverCpu)}, wrk ${pct(r.loadCpu)} of a core), non-2xx ${r.non2xx}, errors ${r.errors}${check.lost ? ', DATA MISSING' : ''}`;
}

async function measureStored(ctx, s) {
  const { durationS } = ctx.config;
  const { size, concurrency, pollMs } = ctx.config.stored;
  const r = await runLoad(
    { type: 'storedLatency', url: s.server.url, size, concurrency, durationS, pollMs, settleTimeoutMs: 10_000 },
    (durationS + 60) * 1000,
  );
  await settle(ctx, s);
  const { check } = await verify(s, { acked: r.acked, size, inFlight: concurrency });
  record(s, 'stored', r);
  if (r.non2xx || r.errors) s.integrity.notes.push(`202→stored: ${r.non2xx} non-2xx, ${r.errors} errors`);
  if (r.failed || r.unsettled) s.integrity.issues.push(`202→stored: ${r.failed} failed, ${r.unsettled} not stored within 10 s`);
  return `${r.samples} uploads, stored after p50 ${fmt(r.p50, 0)} ms / p99 ${fmt(r.p99, 0)} ms (server clock), observed p50 ${fmt(r.observedP50, 2)} ms${check.lost ? ', DATA MISSING' : ''}`;
}

/** Whether the DURABILITY=none instance is measured at this many-uploads figure (the target ones). */
export const isDurabilityFigure = (config, size, c) => config.durabilityFigures.some((f) => f.size === size && f.concurrency === c);

/**
 * The per-server measurements of `config.figures` for the servers in `keys`, in order. The plan also
 * decides which servers are started: one no task names is not needed.
 * @returns {{ key: string, run: number, group: string, label: string, fn: (ctx, s, run: number) => Promise<string> }[]}
 */
export function buildPlan(config, keys) {
  const plan = [];
  const has = (key) => keys.includes(key);
  const wants = (group) => config.figures.includes(group);
  const main = ['raw-stream', 'naive', 'nest-floor', 'service'].filter(has);
  const add = (group, label, serverKeys, fn) => {
    for (let run = 1; run <= config.runs; run++) {
      for (const key of run % 2 ? serverKeys : [...serverKeys].reverse()) plan.push({ key, run, group, label, fn });
    }
  };
  // Interleaved (figure → run → server) so drift on a shared machine hits every server alike, and
  // every other run in reverse, so no server always follows the same one (the one before can leave
  // the machine busier: naive's gigabyte of garbage, a baseline's files being deleted).
  // DURABILITY=none too: raw-stream never waits for the disk, so the pair separates what fsync costs
  // (the disk's own speed) from what the service's code costs.
  const largeKeys = has('service-none') ? [...main, 'service-none'] : main;
  if (wants('large')) add('large', `large ${formatSize(config.largeSize)}`, largeKeys, (ctx, s) => measureLarge(ctx, s));
  if (wants('many')) {
    for (const size of config.sizes) {
      for (const c of config.concurrencies) {
        const keys = [...main];
        if (isDurabilityFigure(config, size, c)) keys.push(...COMPANIONS.filter(has));
        add('many', `${formatSize(size)} c=${c}`, keys, (ctx, s, run) => measureMany(ctx, s, size, c, run));
      }
    }
  }
  if (wants('stored')) {
    const { size, concurrency } = config.stored;
    add('stored', `202→stored ${formatSize(size)} c=${concurrency}`, ['service', 'service-none'].filter(has), (ctx, s) =>
      measureStored(ctx, s),
    );
  }
  return plan;
}

/** Scale-out (issue 7): stored uploads per second with 1 and 2 BullMQ workers on real Redis; uses the built dist/. */
export async function measureScaleOut(ctx) {
  const { quick } = ctx.config;
  ctx.log('scale-out: 1 vs 2 workers (bullmq)');
  try {
    return { results: await runScaleOut({ uploads: quick ? 100 : 600, runs: quick ? 1 : 3, build: false }) };
  } catch (err) {
    const scaleOut = { error: String(err?.message ?? err) };
    ctx.problems.push(`scale-out: ${scaleOut.error}`);
    return scaleOut;
  }
}
