#!/usr/bin/env node
// Stored uploads per second with 1 worker process vs 2 (TASK_TRANSPORT=bullmq), for docs/BENCHMARKS.md.
//
// For each worker count: one API process (the service entry, ROLE=api) and the queue paused; N uploads
// are accepted, so the queue holds N jobs; the workers (the worker entry; both named in lib/service-code.mjs) start and connect; then the
// queue is resumed and the clock runs until the last record says `stored`. The figure is the
// storage rate of the workers alone, not the HTTP intake. Each run has its own storage root and
// Redis key prefix, both removed afterwards.
//
//   node bench/scale-out.mjs [--uploads 400] [--size 64KiB] [--workers 1,2] [--runs 1]
//                            [--durability fsync|none] [--redis redis://127.0.0.1:6379] [--skip-build] [--json]
//
// Also importable: `runScaleOut(options)` resolves with the results, for the bench harness.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import process from 'node:process';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { freePort, killAllNow, runCommand, startNodeServer, stopChild, track } from './lib/proc.mjs';
import { SERVICE_ENTRY, WORKER_ENTRY, serviceNodeArgs } from './lib/service-code.mjs';
import { formatSize, median, parseSize } from './lib/stats.mjs';
import { until } from './lib/until.mjs';

const ROOT = resolve(import.meta.dirname, '..');
const PRELOAD = pathToFileURL(join(import.meta.dirname, 'lib', 'exit-with-parent.mjs')).href;

async function upload(url, bytes, name) {
  const form = new FormData();
  form.append('file', new Blob([bytes]), name);
  const res = await fetch(`${url}/uploads`, { method: 'POST', body: form });
  await res.arrayBuffer();
  if (res.status !== 202) throw new Error(`upload answered ${res.status}`);
}

/** One measurement: `workers` worker processes storing `uploads` queued uploads. */
async function measure({ workers, uploads, size, durability, redisUrl }) {
  const prefix = `stowage-bench-${randomBytes(4).toString('hex')}`;
  const storageRoot = mkdtempSync(join(os.tmpdir(), 'stowage-bench-scale-'));
  const env = {
    TASK_TRANSPORT: 'bullmq',
    REDIS_URL: redisUrl,
    REDIS_PREFIX: prefix,
    UPLOAD_DIR: storageRoot,
    DURABILITY: durability,
    LOG_LEVEL: 'warn',
  };
  const redis = new Redis(redisUrl);
  const queue = new Queue('uploads', { connection: { url: redisUrl }, prefix });
  const children = [];
  try {
    const api = await startNodeServer({
      name: 'api',
      script: SERVICE_ENTRY,
      nodeArgs: serviceNodeArgs(ROOT),
      cwd: ROOT,
      env: { ...env, ROLE: 'api' },
      port: await freePort(),
    });
    children.push(api.child);
    await queue.pause();
    const body = randomBytes(size);
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < uploads) await upload(api.url, body, `b${next++}.bin`);
      }),
    );
    for (let i = 0; i < workers; i += 1) {
      children.push(
        track(
          spawn(process.execPath, [...serviceNodeArgs(ROOT), '--import', PRELOAD, WORKER_ENTRY], {
            cwd: ROOT,
            env: { ...process.env, ...env, BENCH_EXIT_WITH_PARENT: '1' },
            stdio: ['pipe', 'ignore', 'inherit'],
          }),
        ),
      );
    }
    await until(`${workers} workers to connect`, async () => ((await queue.getWorkersCount()) >= workers ? true : undefined), 30_000);

    const stored = () => redis.zcard(`${prefix}:records:s:stored`);
    const started = performance.now();
    await queue.resume();
    await until('every upload stored', async () => ((await stored()) >= uploads ? true : undefined), 300_000);
    const seconds = (performance.now() - started) / 1000;
    const failed = await redis.zcard(`${prefix}:records:s:failed`);
    return { workers, uploads, size, durability, seconds, perSecond: uploads / seconds, failed };
  } finally {
    await Promise.all(children.map((c) => stopChild(c)));
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    for (let cursor = '0'; ;) {
      const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = nextCursor;
      if (cursor === '0') break;
    }
    await redis.quit();
    rmSync(storageRoot, { recursive: true, force: true });
  }
}

/** Runs every worker count `runs` times; each result carries the median rate. */
export async function runScaleOut({
  uploads = 400,
  size = 64 * 1024,
  workerCounts = [1, 2],
  runs = 1,
  durability = 'fsync',
  redisUrl = 'redis://127.0.0.1:6379',
  build = true,
} = {}) {
  if (build) {
    const built = await runCommand('npm', ['run', 'build'], { cwd: ROOT, env: process.env, timeoutMs: 180_000 });
    if (built.code !== 0) throw new Error(`npm run build failed:\n${built.output}`);
  }
  const results = [];
  for (const workers of workerCounts) {
    const samples = [];
    for (let r = 0; r < runs; r += 1) samples.push(await measure({ workers, uploads, size, durability, redisUrl }));
    results.push({ ...samples[0], perSecond: median(samples.map((s) => s.perSecond)), runs: samples });
  }
  return results;
}

export function renderScaleOut(results) {
  const base = results[0]?.perSecond ?? 0;
  const rows = results.map(
    (r) =>
      `| ${r.workers} | ${r.uploads} × ${formatSize(r.size)} | ${r.durability} | ${r.perSecond.toFixed(0)} | ${base ? (r.perSecond / base).toFixed(2) : '-'}× | ${r.failed} |`,
  );
  return [
    `Stored uploads per second by worker processes (bullmq transport, queue filled first; ${os.cpus().length} CPUs, ${os.cpus()[0]?.model ?? 'unknown CPU'}):`,
    '',
    '| workers | uploads | durability | stored/s (median) | vs 1 worker | failed |',
    '|---:|---|---|---:|---:|---:|',
    ...rows,
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: {
      uploads: { type: 'string', default: '400' },
      size: { type: 'string', default: '64KiB' },
      workers: { type: 'string', default: '1,2' },
      runs: { type: 'string', default: '1' },
      durability: { type: 'string', default: 'fsync' },
      redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
      'skip-build': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  process.on('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));
  try {
    const results = await runScaleOut({
      uploads: Number(values.uploads),
      size: parseSize(values.size),
      workerCounts: values.workers.split(',').map(Number),
      runs: Number(values.runs),
      durability: values.durability,
      redisUrl: values.redis,
      build: !values['skip-build'],
    });
    console.log(values.json ? JSON.stringify(results) : renderScaleOut(results));
  } catch (err) {
    console.error(err);
    process.exit(1);
  }
}
