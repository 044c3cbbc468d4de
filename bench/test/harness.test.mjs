// Tests of the bench harness itself (not of the service): `node --test bench/test/`.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import busboy from 'busboy';
import { DiskLedger, checkRun } from '../lib/ledger.mjs';
import { runLoad } from '../lib/load.mjs';
import { runWrk, writeUploadTemplate } from '../lib/wrk.mjs';
import { BOUNDARY, CONTENT_TYPE, envelope, payloadPattern, smallBody } from '../lib/multipart.mjs';
import { freePort, startNodeServer, stopAll, stopChild } from '../lib/proc.mjs';
import { readProcessState } from '../lib/cpu.mjs';
import { isolate } from '../lib/servers.mjs';
import { createProbe } from '../lib/machine.mjs';
import { DISK_STORAGE, RECORD_REPOSITORY, SERVICE_ENTRY, WORKER_ENTRY, serviceNodeArgs } from '../lib/service-code.mjs';
import { formatSize, median, pairedRatios, parseSize, percentile } from '../lib/stats.mjs';

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

describe('service code the bench runs (lib/service-code.mjs)', () => {
  // dist/ mirrors src/ (nest build): a file moved in src/ without this module following fails here,
  // before a bench run finds out.
  const source = (distPath) => join(ROOT, distPath.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts'));

  it('names entries that exist in src/', () => {
    for (const entry of [SERVICE_ENTRY, WORKER_ENTRY]) assert.ok(existsSync(source(entry)), `${entry}: no ${source(entry)}`);
  });

  it('names classes their modules export', () => {
    for (const { module, name } of [RECORD_REPOSITORY, DISK_STORAGE]) {
      const text = readFileSync(source(module), 'utf8');
      assert.match(text, new RegExp(`export class ${name}\\b`), `${module} exports no class ${name}`);
    }
  });

  it('starts the service with the Node flags of its start scripts', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    assert.deepEqual(serviceNodeArgs(ROOT), pkg.config.node_flags.split(' '));
    assert.ok(serviceNodeArgs(ROOT).length > 0);
    for (const [script, entry] of [
      ['start', SERVICE_ENTRY],
      ['start:prod', SERVICE_ENTRY],
      ['start:api', SERVICE_ENTRY],
      ['start:worker', WORKER_ENTRY],
    ]) {
      assert.ok(pkg.scripts[script].endsWith(`node $npm_package_config_node_flags ${entry}`), `${script}: ${pkg.scripts[script]}`);
    }
  });
});

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

  it('pairs figures by cycle: a drift that slows both servers of a cycle leaves their ratio alone', () => {
    // The machine runs at full speed, then half, then full: each cycle's pair shares its speed.
    const floor = [{ rps: 2000 }, { rps: 1000 }, { rps: 2000 }, { rps: undefined }];
    const service = [{ rps: 1800 }, { rps: 900 }, { rps: 1800 }, { rps: 1700 }];
    assert.deepEqual(pairedRatios(floor, service, 'rps'), [0.9, 0.9, 0.9]);
    // The ratio of medians, what unpaired rounds give, depends on which cycles were slow.
    assert.equal(median(service.map((x) => x.rps)) / median(floor.map((x) => x.rps)), 0.875);
    assert.deepEqual(pairedRatios([{ rps: 0 }], [{ rps: 5 }], 'rps'), []);
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

describe('machine probes', () => {
  it('reads the kernel CPU of a file creation and leaves nothing behind', () => {
    const dir = mkdtempSync(join(tmp, 'probe-'));
    const us = createProbe(dir, { files: 50 });
    assert.ok(Number.isFinite(us) && us >= 0, `got ${us}`);
    assert.deepEqual(readdirSync(dir), []);
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

  it('renews the directory: set aside with its files emptied (not deleted), a new empty one in its place, newer files count', async () => {
    const dir = join(tmp, 'renewed', 'files');
    mkdirSync(join(dir, 'ab'), { recursive: true });
    for (let i = 0; i < 50; i++) writeFileSync(join(dir, `f${i}`), 'x');
    writeFileSync(join(dir, 'ab', 'two'), 'yy');
    const ledger = new DiskLedger(dir);
    assert.equal((await ledger.scanNew()).fresh.length, 51);
    const before = statSync(dir).ino;
    await ledger.renew();
    assert.deepEqual(readdirSync(dir), []);
    assert.notEqual(statSync(dir).ino, before); // a new directory, not the old one emptied
    // The old one is set aside, every file in it emptied but still there (see DiskLedger.renew).
    assert.deepEqual(readdirSync(join(tmp, 'renewed')).sort(), ['files', 'files.1']);
    const aside = join(tmp, 'renewed', 'files.1');
    assert.equal(readdirSync(aside).length, 51);
    assert.equal(statSync(join(aside, 'f7')).size, 0);
    assert.equal(statSync(join(aside, 'ab', 'two')).size, 0);
    writeFileSync(join(dir, 'f0'), 'zzz'); // a name seen before counts again
    assert.deepEqual(
      (await ledger.scanNew()).fresh.map((f) => f.size),
      [3],
    );
    await ledger.renew();
    assert.deepEqual(readdirSync(join(tmp, 'renewed')).sort(), ['files', 'files.1', 'files.2']);
    await new DiskLedger(join(tmp, 'renewed', 'absent')).renew();
    assert.ok(existsSync(join(tmp, 'renewed', 'absent')));
  });

  it('primes with what is there, unstat-ed, and then counts only newer files', async () => {
    const dir = join(tmp, 'primed', 'files');
    mkdirSync(join(dir, 'cd'), { recursive: true });
    writeFileSync(join(dir, 'cd', 'seeded'), 'x');
    writeFileSync(join(dir, 'cd', 'seeded.1.tmp'), 'x');
    const ledger = new DiskLedger(dir);
    assert.equal(await ledger.prime(), 1);
    writeFileSync(join(dir, 'cd', 'new'), 'abcd');
    const r = await ledger.scanNew();
    assert.deepEqual(
      r.fresh.map((f) => f.size),
      [4],
    );
  });
});

describe('one server at a time (servers.mjs isolate)', () => {
  it('freezes every other running server while one is measured, and thaws them after', async () => {
    const start = async (name) => {
      const server = await startNodeServer({
        name,
        script: 'bench/baselines/raw-stream.mjs',
        cwd: ROOT,
        port: await freePort(),
        env: { UPLOAD_DIR: join(tmp, name) },
      });
      return { def: { label: name }, server };
    };
    const [measured, other] = [await start('iso-measured'), await start('iso-other')];
    const ctx = {
      state: new Map([
        ['a', measured],
        ['b', other],
      ]),
    };
    const thaw = await isolate(ctx, measured);
    try {
      assert.equal(readProcessState(other.server.pid), 'T');
      assert.notEqual(readProcessState(measured.server.pid), 'T');
      assert.equal((await fetch(`${measured.server.url}/health`)).status, 200);
    } finally {
      thaw();
    }
    assert.equal((await fetch(`${other.server.url}/health`)).status, 200); // answers: it runs again
    assert.notEqual(readProcessState(other.server.pid), 'T');
    await isolate(ctx, measured); // frozen again: stopping it must still work
    await Promise.all([stopChild(measured.server.child), stopChild(other.server.child)]);
    assert.notEqual(other.server.child.exitCode ?? other.server.child.signalCode, null);
  });
});

describe('baselines and load clients', () => {
  for (const name of ['raw-stream', 'naive', 'nest-floor']) {
    it(`${name}: a streamed upload and a wrk burst land on disk complete`, async () => {
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

      const url = `${server.url}/uploads`;
      const many = await runWrk({ url, mode: 'upload', file: writeUploadTemplate(tmp, { url, size: 4096 }), connections: 4, durationS: 1 });
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
