#!/usr/bin/env node
// `npm run bench [-- --quick]`: builds the service, starts it next to three reference servers
// (bench/baselines/), loads each from separate processes on 127.0.0.1 (wrk for many uploads),
// checks every acknowledged upload is on disk, measures the service against a store of a million
// uploads (lib/scale.mjs), and writes a markdown report. See docs/BENCHMARKS.md for the method.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, relative, resolve } from 'node:path';
import process from 'node:process';
import { buildPlan, measureIdle, measureScaleOut, warmup } from './lib/figures.mjs';
import { cpuProbe, createProbe, fsyncProbe, machineFacts } from './lib/machine.mjs';
import { USAGE, UsageError, isPartial, parseOptions } from './lib/options.mjs';
import { flushDirtyPages, runCommand, stopAll } from './lib/proc.mjs';
import { renderMarkdown } from './lib/report.mjs';
import { measureScale } from './lib/scale.mjs';
import { measureS3Store } from './s3-store.mjs';
import { alive, countFailed, indent, isolate, serverState, settle, startServer, stopServer } from './lib/servers.mjs';
import { formatSize } from './lib/stats.mjs';
import { createTempRoot } from './lib/temp-root.mjs';
import { WRK_MISSING, findWrk } from './lib/wrk.mjs';

const ROOT = resolve(import.meta.dirname, '..');

let options;
try {
  options = parseOptions(process.argv.slice(2), ROOT);
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  console.error(err.showUsage ? `${err.message}\n\n${USAGE}` : err.message);
  process.exit(2);
}
if (options.help) {
  console.log(USAGE);
  process.exit(0);
}

const { config, outPath, resultsPath } = options;
const log = (line) => process.stderr.write(`${line}\n`);
const temp = createTempRoot({ keep: options.keep, log });
// Servers no planned figure needs are not started (e.g. the baselines for `--figures stored`).
const plan = buildPlan(
  config,
  options.servers.map((d) => d.key),
);
const toStart = options.servers.filter((d) => plan.some((t) => t.key === d.key));
const serviceWanted = (group) => config.figures.includes(group) && options.servers.some((d) => d.key === 'service');
const scaleWanted = serviceWanted('scale');
const scaleOutWanted = serviceWanted('scale-out');
const tusWanted = serviceWanted('tus');
const s3Wanted = serviceWanted('s3');

/** What the measuring modules share: the config, the per-server state and the problems they book. */
const ctx = { root: ROOT, config, tmpRoot: temp.dir, state: new Map(), problems: [], log, createCosts: [] };

/** `npm run build`; resolves why the service cannot be measured, or undefined. */
async function build() {
  if (options.skipBuild) {
    log('build: skipped (--skip-build), using existing dist/');
    return undefined;
  }
  log('build: npm run build …');
  const t = Date.now();
  const b = await runCommand('npm', ['run', 'build'], { cwd: ROOT, env: process.env, timeoutMs: 300_000 });
  if (b.code === 0) {
    log(`build: ok in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    return undefined;
  }
  log(`build FAILED:\n${b.output.slice(-4000)}`);
  const fatal = `the service does not build (npm run build: ${b.code}):\n${indent(b.output.slice(-4000))}`;
  ctx.problems.push(fatal);
  return fatal;
}

/** Runs the plan task by task, logging a line each; a failed task is a problem, not the end. */
async function runPlan() {
  let i = 0;
  for (const task of plan) {
    i++;
    const s = ctx.state.get(task.key);
    const head = `[${String(i).padStart(String(plan.length).length)}/${plan.length}] ${task.label.padEnd(22)} run ${task.run}/${config.runs}  ${s.def.label.padEnd(16)}`;
    if (!alive(ctx, s)) {
      log(`${head} skipped (${s.status})`);
      continue;
    }
    await flushDirtyPages();
    const createUs = createProbe(temp.dir);
    ctx.createCosts.push(createUs);
    const t0 = Date.now();
    const thaw = await isolate(ctx, s);
    try {
      const line = await task.fn(ctx, s, task.run);
      log(
        `${head} ${line}  (${((Date.now() - t0) / 1000).toFixed(1)} s, settling ${(s.lastSettleMs / 1000).toFixed(1)} s, file create ${createUs.toFixed(0)} µs)`,
      );
    } catch (err) {
      ctx.problems.push(`${s.def.label}, ${task.label} run ${task.run}: ${err.message}`);
      log(`${head} ERROR ${err.message}`);
    } finally {
      thaw();
    }
  }
}

async function main() {
  const started = Date.now();
  const { quick } = config;
  const machine = { ...machineFacts({ root: ROOT, storageDir: temp.dir }), cpuStart: cpuProbe(), fsyncStart: await fsyncProbe(temp.dir) };
  const partial = isPartial(config.figures) ? `, figures: ${config.figures.join(',')}` : '';
  log(
    `stowage bench: ${quick ? 'QUICK' : 'full'} mode, ${config.runs} run(s) per figure, ${config.durationS} s per load figure, large file ${formatSize(config.largeSize)}${partial}`,
  );
  log(`storage under ${temp.dir}`);
  // The service keeps what it stores (~15 GB in a full run); below its own floor it answers 503.
  const freeGiB = machine.freeDiskBytes / 1024 ** 3;
  const needGiB = quick ? 3 : 25;
  if (freeGiB < needGiB) {
    const warning = `only ${freeGiB.toFixed(1)} GiB free under ${os.tmpdir()}; a ${quick ? 'quick' : 'full'} run wants about ${needGiB} GiB`;
    ctx.problems.push(warning);
    log(`WARNING: ${warning}`);
  }

  // wrk loads every server (the warm-up too) and the scale figures: without it nothing is measured.
  let fatal;
  if ((toStart.length > 0 || scaleWanted) && !findWrk()) {
    fatal = WRK_MISSING;
    ctx.problems.push(fatal);
    log(`FATAL: ${fatal}`);
  } else {
    // 1. Production build of the service (the scale and scale-out figures run dist/ too).
    fatal = toStart.some((d) => d.kind === 'service') || scaleWanted || scaleOutWanted || tusWanted || s3Wanted ? await build() : undefined;
  }

  const codeReady = !fatal; // wrk found, and the service built
  // 2. Start every server (a temp storage root each), one after another so start-up is not a race.
  for (const def of toStart) {
    const s = serverState(def, temp.dir);
    ctx.state.set(def.key, s);
    if (fatal === WRK_MISSING || (def.kind === 'service' && fatal)) {
      s.status = `not measured: ${fatal === WRK_MISSING ? 'wrk missing' : 'build failed'}`;
      continue;
    }
    const err = await startServer(ctx, s);
    if (err && def.kind === 'service') fatal ??= `the service did not start: ${err.message}`;
  }

  // 3. Warm-up, all at once: nothing is measured here, and every server is settled before its first figure.
  const tWarm = Date.now();
  const up = [...ctx.state.values()].filter((s) => alive(ctx, s));
  await Promise.all(up.map((s) => warmup(ctx, s).catch((err) => ctx.problems.push(`${s.def.label}: warm-up failed: ${err.message}`))));
  log(`warm-up: ${((Date.now() - tWarm) / 1000).toFixed(1)} s`);
  // Idle memory, every server settled and none under load (readings only: all at once).
  await Promise.all(up.filter((s) => alive(ctx, s)).map((s) => measureIdle(s)));

  // 4. The measurements.
  await runPlan();

  // 5. Final storage check for the service: nothing left unsettled, nothing failed.
  for (const s of ctx.state.values()) {
    if (!alive(ctx, s) || s.def.kind !== 'service') continue;
    try {
      await settle(ctx, s);
      await countFailed(s);
    } catch (err) {
      ctx.problems.push(`${s.def.label}: final check: ${err.message}`);
    }
  }

  // The idle reading again, once the servers have been idle long enough for V8 to give back the
  // garbage of the loads. Last, so that no figure is measured on heaps that idleness shrank (after it,
  // the first large upload of a service ran at about two thirds of its speed).
  if (config.idleLaterS > 0 && config.figures.includes('large')) {
    await new Promise((r) => setTimeout(r, config.idleLaterS * 1000));
    await Promise.all(up.filter((s) => alive(ctx, s)).map((s) => measureIdle(s, 'idleLater')));
  }

  // 6. Stop the servers.
  for (const s of ctx.state.values()) await stopServer(ctx, s);

  // 7. Scale and scale-out start services of their own, with every server above stopped.
  const scale = scaleWanted && codeReady ? await measureScale(ctx) : undefined;
  const scaleOut = scaleOutWanted && codeReady ? await measureScaleOut(ctx) : undefined;
  // 8. tus against one POST (bench/tus.mjs), the machine to itself too.
  const { measureTus } = await import('./tus.mjs');
  const tus =
    tusWanted && codeReady
      ? await measureTus({ root: ROOT, tmpRoot: temp.dir, size: config.largeSize, runs: config.runs, log }).catch(
          (err) => void ctx.problems.push(`tus: ${err.message}`),
        )
      : undefined;
  // 9. The large file stored to S3 (moto), alone on the machine too.
  const s3 = s3Wanted && codeReady ? await measureS3Store(ctx) : undefined;

  machine.loadEnd = os.loadavg();
  machine.cpuEnd = cpuProbe();
  machine.fsyncEnd = await fsyncProbe(temp.dir);
  machine.createCosts = ctx.createCosts;
  const results = {
    machine,
    config: { ...config, servers: options.servers.map((d) => d.key) },
    servers: {},
    scale,
    scaleOut,
    tus,
    s3,
    problems: ctx.problems,
    elapsedS: (Date.now() - started) / 1000,
  };
  for (const [key, s] of ctx.state) {
    results.servers[key] = {
      label: s.def.label,
      kind: s.def.kind,
      status: s.status,
      figures: s.figures,
      integrity: s.integrity,
      env: s.def.env,
    };
  }

  const markdown = renderMarkdown(results);
  mkdirSync(dirname(outPath), { recursive: true });
  writeFileSync(outPath, markdown);
  mkdirSync(dirname(resultsPath), { recursive: true });
  writeFileSync(resultsPath, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${markdown}\n`);
  log(`report: ${relative(process.cwd(), outPath) || outPath} (${results.elapsedS.toFixed(0)} s in all)`);
  return fatal ? 1 : 0;
}

main().then(
  async (code) => {
    await stopAll().catch(() => undefined);
    temp.remove();
    process.exit(code);
  },
  async (err) => {
    console.error(`bench harness failed: ${err?.stack ?? err}`);
    await stopAll().catch(() => undefined);
    temp.remove();
    process.exit(1);
  },
);
