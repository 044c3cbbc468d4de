// `node bench/ab.mjs [options] NAME=DIR NAME=DIR ...`: an A/B of builds of the service, for one
// change at a time (issue 18's method). Each DIR is a checkout with `npm ci && npm run build` done
// (for the current tree: `.`); the name `nest-floor` may stand for the baseline. Rounds alternate
// the order of the builds (A B, B A, ...), each a fresh process on a fresh storage root: a warm-up
// under the same load (nest-floor's rate still grows for about 20 s: 1772 -> 2517 4 KiB uploads/s
// over three 8 s runs, so a short warm-up under-measures it), then wrk posting SIZE-byte uploads on
// C connections for DURATION seconds, then waiting until everything is stored. Prints each round
// and the medians: uploads/s, server CPU per upload (all threads, from /proc, load and storing
// included), what of it the main thread used (the rest is V8's garbage collection and compiler
// threads, libuv's pool, LMDB's writer), and p99.
//
//   git worktree add /tmp/before HEAD~1 && (cd /tmp/before && npm ci && npm run build)
//   npm run build && node bench/ab.mjs --rounds 5 before=/tmp/before after=.
//
// With --paired N, every build runs at once instead: each is warmed up, then they are measured in
// turn for N cycles (order alternating), and each ratio is the median of the cycles' own ratios, with
// their range. On a shared VM whose speed drifts over tens of seconds (nest-floor in three rounds
// of one A/B: 1969, 1263, 1261 uploads/s), two loads a few seconds apart share the drift
// that fresh-process rounds minutes apart do not:
//
//   node bench/ab.mjs --paired 10 --duration 3 --env DURABILITY=none floor=nest-floor service=.
//
// TMPDIR=/dev/shm puts every build's storage on tmpfs: the file system's own costs (creating a file
// took 20 to 900 µs of kernel CPU on one VM, moving within minutes) are then out of the comparison.
//
// Options: --rounds N (3), --paired N (0: rounds), --size BYTES (65536), --connections C (32),
// --duration S (8), --warmup S (20), --env KEY=VALUE,... for every build (DURABILITY=fsync unless
// given), NAME=DIR@KEY=VALUE;... for one.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { cpuMeter } from './lib/cpu.mjs';
import { flushDirtyPages, freePort, startNodeServer, stopChild } from './lib/proc.mjs';
import { getJson } from './lib/servers.mjs';
import { SERVICE_ENTRY, serviceNodeArgs } from './lib/service-code.mjs';
import { median, pairedRatios } from './lib/stats.mjs';
import { runWrk, writeUploadTemplate } from './lib/wrk.mjs';

const ROOT = resolve(import.meta.dirname, '..');
const FLOOR = 'nest-floor';

function parse(argv) {
  const options = {
    rounds: 3,
    paired: 0,
    size: 64 * 1024,
    connections: 32,
    duration: 8,
    warmup: 20,
    env: { DURABILITY: 'fsync' },
    builds: [],
  };
  const pairs = (text, separator) =>
    Object.fromEntries(
      text
        .split(separator)
        .filter(Boolean)
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    );
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => argv[++i] ?? '';
    if (arg === '--rounds') options.rounds = Number(value());
    else if (arg === '--paired') options.paired = Number(value());
    else if (arg === '--size') options.size = Number(value());
    else if (arg === '--connections') options.connections = Number(value());
    else if (arg === '--duration') options.duration = Number(value());
    else if (arg === '--warmup') options.warmup = Number(value());
    else if (arg === '--env') Object.assign(options.env, pairs(value(), ','));
    else {
      const [build, own = ''] = arg.split('@');
      const [name, dir] = [build.slice(0, build.indexOf('=')), build.slice(build.indexOf('=') + 1)];
      if (!name || !dir) throw new Error(`expected NAME=DIR, got ${arg}`);
      options.builds.push({ name, dir: dir === FLOOR ? FLOOR : resolve(dir), env: pairs(own, ';') });
    }
  }
  if (options.builds.length < 2) throw new Error('name at least two builds: NAME=DIR NAME=DIR (see the header of bench/ab.mjs)');
  return options;
}

/** Until every acknowledged upload is stored (the baseline: until its writes are done). */
async function settle(url, isFloor) {
  for (const deadline = Date.now() + 120_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) {
    if (isFloor) {
      const health = await getJson(`${url}/health`);
      if (health.status === 200 && !health.body?.pending) return;
    } else {
      const open = await Promise.all(['received', 'processing'].map((s) => getJson(`${url}/uploads?status=${s}&limit=1`)));
      if (open.every((r) => r.status === 200 && r.body?.items?.length === 0)) return;
    }
  }
  throw new Error(`${url} did not finish storing within 120 s`);
}

/** Starts one build on a fresh storage root; `stop()` ends it and removes the root. */
async function start(build, options, tmp) {
  const isFloor = build.dir === FLOOR;
  const storage = mkdtempSync(join(tmp, `${build.name}-`));
  const server = await startNodeServer({
    name: build.name,
    script: isFloor ? join(ROOT, 'bench', 'baselines', 'nest-floor.mjs') : join(build.dir, SERVICE_ENTRY),
    nodeArgs: isFloor ? [] : serviceNodeArgs(build.dir),
    cwd: isFloor ? ROOT : build.dir,
    port: await freePort(),
    env: { NODE_ENV: 'production', LOG_LEVEL: 'warn', UPLOAD_DIR: storage, ...options.env, ...build.env },
  });
  const stop = async () => {
    await stopChild(server.child);
    rmSync(storage, { recursive: true, force: true });
  };
  return { build, isFloor, server, stop };
}

/** wrk on `running` for `durationS`, then until it has stored everything: the figures of one load. */
async function measure(running, options, tmp, durationS) {
  const url = `${running.server.url}/uploads`;
  const tag = `ab-${running.build.name}-${Date.now()}`;
  // Dirty pages of earlier loads would otherwise be written back during this one, on its CPU.
  await flushDirtyPages();
  const cpu = cpuMeter(running.server.pid);
  const result = await runWrk({
    url,
    mode: 'upload',
    file: writeUploadTemplate(tmp, { url, size: options.size, tag }),
    connections: options.connections,
    durationS,
  });
  await settle(running.server.url, running.isFloor);
  const { userS, systemS, mainS } = cpu.split();
  return {
    perSecond: result.rps,
    cpuMs: ((userS + systemS) * 1000) / result.acked,
    mainCpuMs: (mainS * 1000) / result.acked,
    p99: result.p99,
    loadCpu: result.loadCpu,
    errors: result.non2xx + result.errors,
  };
}

const show = (n, digits) => n.toFixed(digits);
const line = (label, x) =>
  `${label}: ${show(x.perSecond, 0)}/s, ${show(x.cpuMs, 3)} ms CPU per upload (main thread ${show(x.mainCpuMs, 3)}), p99 ${show(x.p99, 1)} ms, wrk ${show(x.loadCpu * 100, 0)}% of a core${x.errors ? `, ${x.errors} errors` : ''}`;

/** Each round: every build in a fresh process, warmed up, measured once, stopped. */
async function rounds(options, tmp, results) {
  for (let r = 0; r < options.rounds; r++) {
    for (const build of r % 2 ? [...options.builds].reverse() : options.builds) {
      const running = await start(build, options, tmp);
      try {
        await measure(running, options, tmp, options.warmup);
        const x = await measure(running, options, tmp, options.duration);
        results.get(build.name).push(x);
        console.log(line(`round ${r + 1} ${build.name}`, x));
      } finally {
        await running.stop();
      }
    }
  }
}

/** Every build running at once, warmed up, then measured in turn, cycle after cycle (order alternating). */
async function paired(options, tmp, results) {
  const servers = [];
  try {
    for (const build of options.builds) servers.push(await start(build, options, tmp));
    for (const running of servers) await measure(running, options, tmp, options.warmup);
    for (let cycle = 0; cycle < options.paired; cycle++) {
      for (const running of cycle % 2 ? [...servers].reverse() : servers) {
        const x = await measure(running, options, tmp, options.duration);
        results.get(running.build.name)[cycle] = x;
        console.log(line(`cycle ${cycle + 1} ${running.build.name}`, x));
      }
    }
  } finally {
    for (const running of servers) await running.stop();
  }
}

async function main() {
  const options = parse(process.argv.slice(2));
  const tmp = mkdtempSync(join(tmpdir(), 'stowage-ab-'));
  const results = new Map(options.builds.map((b) => [b.name, []]));
  try {
    await (options.paired > 0 ? paired(options, tmp, results) : rounds(options, tmp, results));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const count = options.paired > 0 ? `${options.paired} cycles` : `${options.rounds} rounds`;
  console.log(`\nmedian of ${count}, ${options.size} B at c=${options.connections}, ${JSON.stringify(options.env)}`);
  const first = results.get(options.builds[0].name);
  for (const { name } of options.builds) {
    const mine = results.get(name);
    const m = (key) => median(mine.map((x) => x[key]));
    // Paired: the median of the cycles' ratios, with their range; rounds: the ratio of the medians.
    const ratio = (key) => {
      if (options.paired === 0) return `${show(m(key) / median(first.map((x) => x[key])), 2)}×`;
      const ratios = pairedRatios(first, mine, key);
      return `${show(median(ratios), 2)}× [${show(Math.min(...ratios), 2)}–${show(Math.max(...ratios), 2)}]`;
    };
    console.log(
      `${name}: ${show(m('perSecond'), 0)}/s (${ratio('perSecond')} ${options.builds[0].name}), ${show(m('cpuMs'), 3)} ms CPU per upload (${ratio('cpuMs')}), of which the main thread ${show(m('mainCpuMs'), 3)} ms (${ratio('mainCpuMs')}), p99 ${show(m('p99'), 1)} ms`,
    );
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err.message);
    process.exit(1);
  },
);
