#!/usr/bin/env node
// Resumable uploads against one POST, in the same run on the same service (DURABILITY=fsync by
// default): a large file sent through tus in fixed-size PATCHes, one after another as tus-js-client
// sends them, and the same file as one multipart POST. MB/s from the first byte to the last answer
// (204 / 202), and the server's peak RSS over each upload, stored included.
//
//   node bench/tus.mjs [--size 1GiB] [--chunk 8MiB] [--runs 2] [--durability fsync] [--skip-build]
//   npm run bench -- --figures tus        (the same, inside the full harness)
import http from 'node:http';
import { resolve } from 'node:path';
import process from 'node:process';
import { parseArgs } from 'node:util';
import { CONTENT_TYPE, envelope, payloadPattern } from './lib/multipart.mjs';
import { flushDirtyPages, freePort, runCommand, sampleMemory, startNodeServer, stopAll, stopChild } from './lib/proc.mjs';
import { SERVICE_ENTRY, serviceNodeArgs } from './lib/service-code.mjs';
import { median, parseSize } from './lib/stats.mjs';
import { createTempRoot } from './lib/temp-root.mjs';
import { tusSection } from './lib/report-tus.mjs';

const MiB = 1024 ** 2;
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

/** Sends `size` bytes of the bench pattern into `req` with backpressure, then ends it. */
async function sendPattern(req, size, tail) {
  const pattern = payloadPattern();
  for (let sent = 0; sent < size;) {
    const n = Math.min(pattern.length, size - sent);
    if (!req.write(n === pattern.length ? pattern : pattern.subarray(0, n))) await new Promise((r) => req.once('drain', r));
    sent += n;
  }
  req.end(tail);
}

function request(url, { method, path, headers }, body) {
  return new Promise((resolvePromise, reject) => {
    const req = http.request(`${url}${path}`, { method, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolvePromise({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    if (body) body(req).catch(reject);
    else req.end();
  });
}

async function postOnce(url, size) {
  const { head, tail, contentLength } = envelope(size);
  const res = await request(
    url,
    { method: 'POST', path: '/uploads', headers: { 'Content-Type': CONTENT_TYPE, 'Content-Length': contentLength } },
    (req) => {
      req.write(head);
      return sendPattern(req, size, tail);
    },
  );
  if (res.status !== 202) throw new Error(`POST /uploads answered ${res.status}: ${res.body.slice(0, 300)}`);
  return JSON.parse(res.body).id;
}

async function tusOnce(url, size, chunk) {
  const tus = { 'Tus-Resumable': '1.0.0' };
  const created = await request(url, {
    method: 'POST',
    path: '/uploads/tus',
    headers: { ...tus, 'Upload-Length': size, 'Content-Length': 0 },
  });
  if (created.status !== 201) throw new Error(`POST /uploads/tus answered ${created.status}: ${created.body.slice(0, 300)}`);
  const location = new URL(created.headers.location, `${url}/uploads/tus`).pathname;
  for (let offset = 0; offset < size; offset += chunk) {
    const n = Math.min(chunk, size - offset);
    const headers = { ...tus, 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': offset, 'Content-Length': n };
    const res = await request(url, { method: 'PATCH', path: location, headers }, (req) => sendPattern(req, n));
    if (res.status !== 204) throw new Error(`PATCH at ${offset} answered ${res.status}: ${res.body.slice(0, 300)}`);
  }
  return location.slice(location.lastIndexOf('/') + 1);
}

async function storedThenDeleted(url, id) {
  for (;;) {
    const res = await fetch(`${url}/uploads/${id}`);
    const record = await res.json();
    if (record.status === 'stored') break;
    if (record.status === 'failed') throw new Error(`upload ${id} failed: ${JSON.stringify(record.error)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const del = await fetch(`${url}/uploads/${id}`, { method: 'DELETE' });
  if (del.status !== 204) throw new Error(`DELETE ${id} answered ${del.status}`);
}

/** One measured upload: MB/s to the last answer; memory sampled until it is stored. */
async function measure(server, kind, size, chunk) {
  await flushDirtyPages();
  const mem = sampleMemory(server.pid);
  const started = process.hrtime.bigint();
  let seconds;
  let memory;
  try {
    const id = kind === 'tus' ? await tusOnce(server.url, size, chunk) : await postOnce(server.url, size);
    seconds = Number(process.hrtime.bigint() - started) / 1e9;
    await storedThenDeleted(server.url, id);
  } finally {
    memory = mem.stop();
  }
  return { kind, mbps: size / 1e6 / seconds, seconds, peakRss: memory.peak, startRss: memory.start };
}

/**
 * Starts the built service (dist/) on a temp root and measures `runs` POSTs and `runs` tus uploads,
 * alternating so drift on a shared machine hits both alike. Resolves the rows and their medians.
 */
export async function measureTus({ root, tmpRoot, size = 1024 * MiB, chunk = 8 * MiB, runs = 2, durability = 'fsync', log = () => {} }) {
  const port = await freePort();
  const server = await startNodeServer({
    name: 'service (tus bench)',
    script: SERVICE_ENTRY,
    nodeArgs: serviceNodeArgs(root),
    cwd: root,
    port,
    env: {
      UPLOAD_DIR: resolve(tmpRoot, 'tus-bench'),
      DURABILITY: durability,
      LOG_LEVEL: 'warn',
      MAX_FILE_SIZE: String(size),
      TASK_TRANSPORT: 'memory',
      ROLE: 'all',
    },
  });
  const rows = [];
  try {
    await measure(server, 'post', 16 * MiB, chunk); // warm-up, not reported
    await measure(server, 'tus', 16 * MiB, chunk);
    for (let run = 1; run <= runs; run++) {
      for (const kind of ['post', 'tus']) {
        const row = await measure(server, kind, size, chunk);
        rows.push(row);
        log(`tus bench: run ${run}/${runs} ${kind.padEnd(4)} ${row.mbps.toFixed(0)} MB/s, peak RSS ${(row.peakRss / MiB).toFixed(0)} MiB`);
      }
    }
  } finally {
    await stopChild(server.child);
  }
  const summary = (kind) => {
    const mine = rows.filter((r) => r.kind === kind);
    return {
      mbps: median(mine.map((r) => r.mbps)),
      peakRss: Math.max(...mine.map((r) => r.peakRss)),
      growth: Math.max(...mine.map((r) => r.peakRss - r.startRss)),
    };
  };
  const post = summary('post');
  const tus = summary('tus');
  const ratio = tus.mbps / post.mbps;
  return { rows, post, tus, ratio, size, chunk, runs, durability };
}

async function main() {
  const { values } = parseArgs({
    options: {
      size: { type: 'string', default: '1GiB' },
      chunk: { type: 'string', default: '8MiB' },
      runs: { type: 'string', default: '2' },
      durability: { type: 'string', default: 'fsync' },
      'skip-build': { type: 'boolean', default: false },
    },
  });
  const root = resolve(import.meta.dirname, '..');
  const log = (line) => process.stderr.write(`${line}\n`);
  if (!values['skip-build']) {
    log('build: npm run build …');
    const b = await runCommand('npm', ['run', 'build'], { cwd: root, env: process.env, timeoutMs: 300_000 });
    if (b.code !== 0) throw new Error(`npm run build failed:\n${b.output.slice(-4000)}`);
  }
  const temp = createTempRoot({ keep: false, log });
  try {
    const result = await measureTus({
      root,
      tmpRoot: temp.dir,
      size: parseSize(values.size),
      chunk: parseSize(values.chunk),
      runs: Number(values.runs),
      durability: values.durability,
      log,
    });
    process.stdout.write(`${tusSection(result).join('\n')}\n`);
  } finally {
    await stopAll().catch(() => undefined);
    temp.remove();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(`tus bench failed: ${err?.stack ?? err}`);
      process.exit(1);
    },
  );
}
