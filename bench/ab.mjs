// `node bench/ab.mjs [options] NAME=DIR NAME=DIR ...`: an A/B of builds of the service, for one
// change at a time (issue 18's method). Each DIR is a checkout with `npm ci && npm run build` done
// (for the current tree: `.`); the name `nest-floor` may stand for the baseline. Rounds alternate
// the order of the builds (A B, B A, ...), each a fresh process on a fresh storage root: a warm-up
// under the same load (nest-floor's rate still grows for about 20 s: 1772 -> 2517 4 KiB uploads/s
// over three 8 s runs, so a short warm-up under-measures it), then wrk posting SIZE-byte uploads on
// C connections for DURATION seconds, then waiting until everything is stored. Prints each round
// and the medians: uploads/s, server CPU per upload (all threads, from /proc, load and storing
// included) and p99.
//
//   git worktree add /tmp/before HEAD~1 && (cd /tmp/before && npm ci && npm run build)
//   npm run build && node bench/ab.mjs --rounds 5 before=/tmp/before after=.
//
// Options: --rounds N (3), --size BYTES (65536), --connections C (32), --duration S (8), --warmup S (20),
// --env KEY=VALUE,... for every build (DURABILITY=fsync unless given), NAME=DIR@KEY=VALUE;... for one.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { cpuMeter } from './lib/cpu.mjs';
import { freePort, startNodeServer, stopChild } from './lib/proc.mjs';
import { getJson } from './lib/servers.mjs';
import { SERVICE_ENTRY, serviceNodeArgs } from './lib/service-code.mjs';
import { median } from './lib/stats.mjs';
import { runWrk, writeUploadTemplate } from './lib/wrk.mjs';

const ROOT = resolve(import.meta.dirname, '..');
const FLOOR = 'nest-floor';

function parse(argv) {
  const options = { rounds: 3, size: 64 * 1024, connections: 32, duration: 8, warmup: 20, env: { DURABILITY: 'fsync' }, builds: [] };
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

async function round(build, options, tmp) {
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
  try {
    const url = `${server.url}/uploads`;
    const load = (tag, connections, durationS) =>
      runWrk({ url, mode: 'upload', file: writeUploadTemplate(tmp, { url, size: options.size, tag }), connections, durationS });
    await load(`warm-${build.name}-${Date.now()}`, options.connections, options.warmup);
    await settle(server.url, isFloor);
    const cpu = cpuMeter(server.pid);
    const result = await load(`ab-${build.name}-${Date.now()}`, options.connections, options.duration);
    await settle(server.url, isFloor);
    const { userS, systemS } = cpu.split();
    return {
      perSecond: result.rps,
      cpuMs: ((userS + systemS) * 1000) / result.acked,
      p99: result.p99,
      loadCpu: result.loadCpu,
      errors: result.non2xx + result.errors,
    };
  } finally {
    await stopChild(server.child);
    rmSync(storage, { recursive: true, force: true });
  }
}

async function main() {
  const options = parse(process.argv.slice(2));
  const tmp = mkdtempSync(join(tmpdir(), 'stowage-ab-'));
  const results = new Map(options.builds.map((b) => [b.name, []]));
  const show = (n, digits) => n.toFixed(digits);
  try {
    for (let r = 0; r < options.rounds; r++) {
      for (const build of r % 2 ? [...options.builds].reverse() : options.builds) {
        const x = await round(build, options, tmp);
        results.get(build.name).push(x);
        console.log(
          `round ${r + 1} ${build.name}: ${show(x.perSecond, 0)}/s, ${show(x.cpuMs, 3)} ms CPU per upload, p99 ${show(x.p99, 1)} ms, wrk ${show(x.loadCpu * 100, 0)}% of a core${x.errors ? `, ${x.errors} errors` : ''}`,
        );
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  console.log(`\nmedian of ${options.rounds}, ${options.size} B at c=${options.connections}, ${JSON.stringify(options.env)}`);
  const first = options.builds[0].name;
  const base = (key) => median(results.get(first).map((x) => x[key]));
  for (const { name } of options.builds) {
    const m = (key) => median(results.get(name).map((x) => x[key]));
    console.log(
      `${name}: ${show(m('perSecond'), 0)}/s (${show(m('perSecond') / base('perSecond'), 2)}× ${first}), ${show(m('cpuMs'), 3)} ms CPU per upload (${show(m('cpuMs') / base('cpuMs'), 2)}×), p99 ${show(m('p99'), 1)} ms`,
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
