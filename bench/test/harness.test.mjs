// Tests of the bench harness itself (not of the service): `node --test bench/test/`.
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import busboy from 'busboy';
import { DiskLedger, checkRun } from '../lib/ledger.mjs';
import { runLoad } from '../lib/load.mjs';
import { BOUNDARY, CONTENT_TYPE, envelope, payloadPattern, smallBody } from '../lib/multipart.mjs';
import { freePort, startNodeServer, stopAll } from '../lib/proc.mjs';
import { FIGURES } from '../lib/options.mjs';
import { renderMarkdown } from '../lib/report.mjs';
import { formatSize, median, parseSize, percentile } from '../lib/stats.mjs';

const ROOT = resolve(import.meta.dirname, '..', '..');
const tmp = mkdtempSync(join(os.tmpdir(), 'stowage-bench-test-'));
after(async () => {
  await stopAll();
  rmSync(tmp, { recursive: true, force: true });
});

/** Parses a multipart body with busboy, as the servers do; resolves the file parts. */
function parse(body) {
  return new Promise((resolvePromise, reject) => {
    const files = [];
    const bb = busboy({ headers: { 'content-type': CONTENT_TYPE } });
    bb.on('file', (field, stream, info) => {
      const parts = [];
      stream.on('data', (c) => parts.push(c));
      stream.on('end', () => files.push({ field, info, data: Buffer.concat(parts) }));
    });
    bb.on('close', () => resolvePromise(files));
    bb.on('error', reject);
    Readable.from([body]).pipe(bb);
  });
}

describe('multipart bodies', () => {
  it('builds one file part in the field "file" that busboy reads back byte for byte', async () => {
    for (const size of [0, 1, 4096, 65536, 1 << 20]) {
      const body = smallBody(size);
      assert.equal(body.length, envelope(size).contentLength);
      const files = await parse(body);
      assert.equal(files.length, 1);
      assert.equal(files[0].field, 'file');
      assert.equal(files[0].info.filename, 'bench.bin');
      assert.deepEqual(files[0].data, payloadPattern().subarray(0, size));
    }
  });

  it('uses a deterministic pattern without the boundary in it', () => {
    const a = payloadPattern();
    assert.equal(a.length, 1 << 20);
    assert.equal(a.indexOf(Buffer.from(BOUNDARY)), -1);
    assert.notEqual(a.readUInt32LE(0), a.readUInt32LE(4));
  });

  it('refuses small bodies over 1 MiB', () => {
    assert.throws(() => smallBody((1 << 20) + 1), /up to/);
  });
});

describe('stats', () => {
  it('takes nearest-rank percentiles and medians', () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted
    assert.equal(percentile(xs, 0.5), 50);
    assert.equal(percentile(xs, 0.99), 99);
    assert.equal(percentile([], 0.5), undefined);
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([undefined, 5, NaN]), 5);
    assert.equal(median([]), undefined);
  });

  it('parses and prints sizes in binary units', () => {
    assert.equal(parseSize('64MiB'), 64 * 1024 ** 2);
    assert.equal(parseSize('1GiB'), 1024 ** 3);
    assert.equal(parseSize('4k'), 4096);
    assert.equal(parseSize('123'), 123);
    assert.throws(() => parseSize('lots'), /Not a size/);
    assert.equal(formatSize(65536), '64 KiB');
    assert.equal(formatSize(1024 ** 3), '1 GiB');
    assert.equal(formatSize(1000), '1000 B');
  });
});

describe('data check', () => {
  it('passes when every acknowledged upload is a file of the right size, extras in flight allowed', () => {
    const fresh = [...Array(12)].map((_, i) => ({ path: `f${i}`, size: 10 }));
    const r = checkRun({ acked: 10, size: 10, inFlight: 4, fresh, temp: [] });
    assert.deepEqual(r.issues, []);
    assert.deepEqual(r.notes, []);
    assert.equal(r.bytes, 120);
    assert.equal(r.expectedBytes, 100);
  });

  it('flags acknowledged uploads that are missing or truncated', () => {
    const fresh = [
      { path: 'a', size: 10 },
      { path: 'b', size: 7 },
    ];
    const r = checkRun({ acked: 3, size: 10, inFlight: 0, fresh, temp: ['c.tmp'] });
    assert.equal(r.lost, 2);
    assert.match(r.issues[0], /2 of 3 acknowledged/);
    assert.equal(r.notes.length, 2); // wrong size, temp file
  });

  it('notices extras beyond what was in flight', () => {
    const fresh = [...Array(5)].map((_, i) => ({ path: `f${i}`, size: 1 }));
    assert.match(checkRun({ acked: 1, size: 1, inFlight: 1, fresh, temp: [] }).notes[0], /more than acknowledged/);
  });

  it('scans only new files, recursively, and keeps temp files apart', async () => {
    const dir = join(tmp, 'ledger', 'files');
    mkdirSync(join(dir, 'ab'), { recursive: true });
    writeFileSync(join(dir, 'one'), 'x');
    writeFileSync(join(dir, 'ab', 'two'), 'yy');
    const ledger = new DiskLedger(dir);
    let r = await ledger.scanNew();
    assert.deepEqual(r.fresh.map((f) => f.size).sort(), [1, 2]);
    writeFileSync(join(dir, 'ab', 'three'), 'zzz');
    writeFileSync(join(dir, 'ab', 'three.123.tmp'), 'partial');
    r = await ledger.scanNew();
    assert.deepEqual(
      r.fresh.map((f) => f.size),
      [3],
    );
    assert.equal(r.temp.length, 1);
    assert.deepEqual((await new DiskLedger(join(tmp, 'nowhere')).scanNew()).fresh, []);
  });
});

describe('baselines and load clients', () => {
  for (const name of ['raw-stream', 'naive']) {
    it(`${name}: a streamed upload and an autocannon burst land on disk complete`, async () => {
      const storage = join(tmp, name);
      const server = await startNodeServer({
        name,
        script: `bench/baselines/${name}.mjs`,
        cwd: ROOT,
        port: await freePort(),
        env: { UPLOAD_DIR: storage, LOG_LEVEL: 'warn' },
      });
      const ledger = new DiskLedger(join(storage, 'files'));
      const size = 3 * (1 << 20) + 5; // not a multiple of the pattern: exercises the last partial chunk
      const big = await runLoad({ type: 'stream', url: server.url, size, timeoutMs: 20_000 }, 30_000);
      assert.equal(big.status, 202);
      assert.equal(big.body.size, size);
      assert.ok(big.mbps > 0);
      await waitIdle(server.url);
      let scan = await ledger.scanNew();
      assert.deepEqual(
        scan.fresh.map((f) => f.size),
        [size],
      );

      const many = await runLoad({ type: 'autocannon', url: server.url, size: 4096, connections: 4, durationS: 0.5, timeoutS: 5 }, 20_000);
      assert.ok(many.acked > 0);
      assert.equal(many.non2xx, 0);
      assert.ok(many.p50 > 0 && many.p99 >= many.p50);
      await waitIdle(server.url);
      scan = await ledger.scanNew();
      assert.deepEqual(checkRun({ acked: many.acked, size: 4096, inFlight: 4, ...scan }).issues, []);
      server.child.kill('SIGTERM');
    });
  }

  it('the streaming client reports an early error answer instead of hanging', async () => {
    const server = await startNodeServer({
      name: 'raw-stream',
      script: 'bench/baselines/raw-stream.mjs',
      cwd: ROOT,
      port: await freePort(),
      env: { UPLOAD_DIR: join(tmp, 'early') },
    });
    const r = await runLoad({ type: 'stream', url: `${server.url}/nope`, size: 1 << 20, timeoutMs: 10_000 }, 20_000).catch((e) => e);
    // Either the 404 arrives or the socket is cut: both end the job promptly.
    assert.ok(r instanceof Error || r.status === 404, String(r?.status ?? r));
    server.child.kill('SIGTERM');
  });
});

async function waitIdle(url) {
  for (let i = 0; i < 200; i++) {
    const h = await (await fetch(`${url}/health`)).json();
    if (!h.pending) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('baseline never became idle');
}

describe('report', () => {
  const base = (over = {}) => ({
    label: 'x',
    kind: 'baseline',
    status: 'ok',
    env: {},
    integrity: { acked: 1, files: 1, bytes: 1, expectedBytes: 1, lost: 0, wrong: 0, issues: [], notes: [] },
    figures: {},
    ...over,
  });
  const many = (rps, p99) => [{ rps, p50: p99 / 2, p99, non2xx: 0, errors: 0 }];
  const results = (serviceOver = {}) => ({
    machine: {
      date: 'd',
      cores: 2,
      cpuModel: 'cpu',
      memoryBytes: 2 ** 34,
      node: 'v20',
      os: 'linux',
      storageFs: 'ext4',
      loadStart: [0, 0, 0],
      loadEnd: [1, 1, 1],
    },
    config: {
      quick: false,
      runs: 3,
      durationS: 10,
      largeSize: 1024 ** 3,
      largeIsReduced: false,
      sizes: [65536],
      concurrencies: [32],
      stored: { size: 65536, concurrency: 2, pollMs: 1 },
      durabilityFigure: { size: 65536, concurrency: 32 },
    },
    servers: {
      'raw-stream': base({
        label: 'raw-stream',
        figures: { large: [{ mbps: 1000, peakRss: 100 * 2 ** 20 }], 'many:65536:32': many(1000, 10) },
      }),
      service: base({
        label: 'service (fsync)',
        kind: 'service',
        env: { DURABILITY: 'fsync' },
        figures: {
          large: [{ mbps: 950, peakRss: 150 * 2 ** 20 }],
          'many:65536:32': many(850, 14),
          stored: [{ p50: 3, p99: 60, observedP50: 4, observedP99: 70, samples: 10 }],
        },
        ...serviceOver,
      }),
      'service-none': base({
        label: 'service (none)',
        kind: 'service',
        env: { DURABILITY: 'none' },
        figures: { 'many:65536:32': many(990, 16) },
      }),
    },
    problems: [],
    elapsedS: 1,
  });

  it('marks each target met or missed from the medians, with ratios to raw-stream', () => {
    const md = renderMarkdown(results());
    const row = (text) => md.split('\n').find((l) => l.startsWith(`| ${text}`));
    assert.match(row('1 GiB upload throughput'), /0\.95× .*\| met \|$/);
    assert.match(row('1 GiB upload peak RSS'), /\+50 MiB .*\| met \|$/);
    assert.match(row('64 KiB c=32 req/s, DURABILITY=fsync'), /0\.85× .*\| met \|$/);
    assert.match(row('64 KiB c=32 req/s, DURABILITY=none'), /0\.99× .*\*\*missed\*\* \|$/);
    assert.match(row('64 KiB c=32 p99 latency, DURABILITY=none'), /1\.60× .*\*\*missed\*\* \|$/);
    assert.match(row('202 → stored p50'), /3\.00 ms \| met \|$/);
    assert.match(row('202 → stored p99'), /60\.0 ms \| \*\*missed\*\* \|$/);
    assert.match(md, /\| Node \| v20 \|/);
  });

  it("shows each server's resident set before the large upload and what the upload added to it", () => {
    const withStart = results({
      figures: { large: [{ mbps: 950, peakRss: 150 * 2 ** 20, startRss: 130 * 2 ** 20 }], 'many:65536:32': many(850, 14) },
    });
    const row = renderMarkdown(withStart)
      .split('\n')
      .find((l) => l.startsWith('| service (fsync) | 950'));
    assert.match(row, /\| 150 \| \+50 \| 130 \| \+20 \|$/);
    const old = renderMarkdown(results())
      .split('\n')
      .find((l) => l.startsWith('| raw-stream | 1000'));
    assert.match(old, /\| — \| — \|$/); // results saved before the column existed
  });

  it('adds a large-upload row for DURABILITY=none only when that instance measured one', () => {
    const largeTable = (md) => md.slice(md.indexOf('## One large upload'), md.indexOf('## Many uploads'));
    const largeRow = (md) =>
      largeTable(md)
        .split('\n')
        .find((l) => l.startsWith('| service (none) | '));
    assert.equal(largeRow(renderMarkdown(results())), undefined);
    const both = results();
    both.servers['service-none'].figures.large = [{ mbps: 1100, peakRss: 140 * 2 ** 20, startRss: 120 * 2 ** 20 }];
    assert.match(largeRow(renderMarkdown(both)), /^\| service \(none\) \| 1100 \| 1\.10× \| 140 \| \+40 \| 120 \| \+20 \|$/);
  });

  it('does not rank a server that lost data', () => {
    const md = renderMarkdown(
      results({
        integrity: {
          acked: 5,
          files: 4,
          bytes: 4,
          expectedBytes: 5,
          lost: 1,
          wrong: 0,
          issues: ['1 of 5 acknowledged uploads missing'],
          notes: [],
        },
      }),
    );
    assert.match(md, /\| 1 GiB upload throughput \|.*not ranked/);
    assert.match(md, /FLAGGED, not ranked\*\*: 1 of 5 acknowledged/);
    assert.match(md, /\| service \(fsync\) \|[^\n]*\| flagged \|/);
  });

  it('says so when a quick run used a smaller large file', () => {
    const r = results();
    Object.assign(r.config, { quick: true, runs: 1, durationS: 2, largeSize: 64 * 2 ** 20, largeIsReduced: true });
    const md = renderMarkdown(r);
    assert.match(md, /Quick run \(smoke test\).*64 MiB "large" file instead of 1 GiB/);
    assert.match(md, /## One large upload \(64 MiB\)/);
  });

  it('reads the same with every figure group listed as with none (results saved before --figures)', () => {
    const r = results();
    r.config.figures = [...FIGURES];
    assert.equal(renderMarkdown(r), renderMarkdown(results()));
  });

  it('says which groups a partial run skipped and marks them not measured', () => {
    const r = results();
    r.config.figures = ['many'];
    for (const s of Object.values(r.servers)) s.figures = { 'many:65536:32': s.figures['many:65536:32'] };
    const md = renderMarkdown(r);
    const row = (text) => md.split('\n').find((l) => l.startsWith(`| ${text}`));
    assert.match(md, /Partial run\*\* \(`--figures many`\): skipped large, stored, scale-out, s3\./);
    assert.match(row('1 GiB upload throughput'), /\| not measured \(skipped\) \|$/);
    assert.match(row('202 → stored p50'), /\| not measured \(skipped\) \|$/);
    assert.match(row('64 KiB c=32 req/s, DURABILITY=fsync'), /0\.85× .*\| met \|$/);
    for (const heading of [
      '## One large upload (1 GiB)',
      '## Service: 202 → stored (64 KiB, 2 clients)',
      '## Scale-out: 1 vs 2 storage workers (BullMQ on Redis)',
    ]) {
      assert.ok(md.includes(`${heading}\n\n_Not measured: skipped by \`--figures\``), heading);
    }
    assert.match(md, /## Many uploads\n\n\| File/);
  });
});
