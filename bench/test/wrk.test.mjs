// Tests of the load generator's side of the harness: the wrk script's requests, wrk's result, and
// the CPU accounting from /proc. `node --test bench/test/`; the wrk runs need wrk on PATH.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import http from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import busboy from 'busboy';
import { clockTicksPerSecond, cpuMeter, parseStatTicks, readCpuTicks } from '../lib/cpu.mjs';
import { CONTENT_TYPE, envelope, payloadPattern } from '../lib/multipart.mjs';
import { COUNTER_WIDTH, parseWrkOutput, runWrk, uploadTemplate, writePathsFile, writeUploadTemplate } from '../lib/wrk.mjs';

const tmp = mkdtempSync(join(os.tmpdir(), 'stowage-bench-wrk-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
// npm test's pretest makes sure wrk is there (scripts/test-prerequisites.mjs); without it these tests fail, not skip.

/** Splits a raw HTTP request into its head lines and body. */
function splitRequest(buf) {
  const end = buf.indexOf('\r\n\r\n');
  return { lines: buf.subarray(0, end).toString('latin1').split('\r\n'), body: buf.subarray(end + 4) };
}

/** Parses a multipart body with busboy, as the servers do; resolves the file parts. */
function parseBody(headers, body) {
  return new Promise((resolve, reject) => {
    const files = [];
    const bb = busboy({ headers });
    bb.on('file', (field, stream, info) => {
      const parts = [];
      stream.on('data', (c) => parts.push(c));
      stream.on('end', () => files.push({ field, filename: info.filename, data: Buffer.concat(parts) }));
    });
    bb.on('close', () => resolve(files));
    bb.on('error', reject);
    Readable.from([body]).pipe(bb);
  });
}

/**
 * An HTTP server that books every request (method, url, headers, body length and, for a POST, its
 * parsed file parts without the bytes: whether they equal the payload pattern) and answers 202/200.
 */
async function captureServer() {
  const seen = [];
  const server = http.createServer((req, res) => {
    const parts = [];
    req.on('data', (c) => parts.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(parts);
      const entry = { method: req.method, url: req.url, headers: req.headers, length: body.length };
      if (req.method === 'POST') {
        const files = await parseBody(req.headers, body);
        entry.files = files.map((f) => ({
          field: f.field,
          filename: f.filename,
          patternBytes: f.data.equals(payloadPattern().subarray(0, f.data.length)) ? f.data.length : -1,
        }));
      }
      seen.push(entry);
      res.writeHead(req.method === 'POST' ? 202 : 200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { seen, url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}

describe('wrk upload template', () => {
  it('is one complete request whose Content-Length fits its multipart body and whose file name holds the counter field', async () => {
    const size = 4096;
    const request = uploadTemplate({ url: 'http://127.0.0.1:1234/uploads', size, tag: 'tst' });
    const { lines, body } = splitRequest(request);
    assert.equal(lines[0], 'POST /uploads HTTP/1.1');
    assert.ok(lines.includes('Host: 127.0.0.1:1234'));
    assert.ok(lines.includes(`Content-Type: ${CONTENT_TYPE}`));
    assert.ok(lines.includes(`Content-Length: ${body.length}`));
    assert.equal(body.length, envelope(size, { filename: `tst-${'#'.repeat(COUNTER_WIDTH)}.bin` }).contentLength);
    const files = await parseBody({ 'content-type': CONTENT_TYPE }, body);
    assert.equal(files.length, 1);
    assert.equal(files[0].field, 'file');
    assert.equal(files[0].filename, `tst-${'#'.repeat(COUNTER_WIDTH)}.bin`);
    assert.deepEqual(files[0].data, payloadPattern().subarray(0, size));
    // bench.lua replaces the first run of '#': it must be exactly the counter field.
    const text = request.toString('latin1');
    assert.equal(/#+/.exec(text)[0].length, COUNTER_WIDTH);
    assert.equal(text.indexOf('#'), text.indexOf(`tst-${'#'.repeat(COUNTER_WIDTH)}.bin`) + 4);
  });

  it('refuses tags that could break the file name, and files over the 1 MiB pattern', () => {
    assert.throws(() => uploadTemplate({ url: 'http://h:1/uploads', size: 1, tag: 'a"b' }), /unsafe/);
    assert.throws(() => uploadTemplate({ url: 'http://h:1/uploads', size: (1 << 20) + 1 }), /up to/);
  });
});

describe('wrk runs (bench.lua)', () => {
  for (const size of [4096, 1 << 20]) {
    it(`posts valid ${size}-byte uploads, each with a unique file name, and counts what it was answered`, async () => {
      const server = await captureServer();
      try {
        const url = `${server.url}/uploads`;
        const r = await runWrk({
          url,
          mode: 'upload',
          file: writeUploadTemplate(tmp, { url, size, tag: 'unique' }),
          connections: 4,
          durationS: 1,
        });
        assert.ok(r.acked > 0);
        assert.equal(r.non2xx, 0);
        assert.equal(r.errors, 0);
        // Every acknowledged request reached the server; a few more may have been cut off in flight.
        assert.ok(
          server.seen.length >= r.acked && server.seen.length <= r.acked + 4,
          `${server.seen.length} seen, ${r.acked} acknowledged`,
        );
        const names = new Set();
        for (const req of server.seen) {
          assert.equal(req.method, 'POST');
          assert.equal(req.url, '/uploads');
          assert.equal(Number(req.headers['content-length']), req.length);
          assert.equal(req.files.length, 1);
          assert.equal(req.files[0].field, 'file');
          assert.match(req.files[0].filename, new RegExp(`^unique-\\d{${COUNTER_WIDTH}}\\.bin$`));
          assert.equal(req.files[0].patternBytes, size, 'payload intact');
          names.add(req.files[0].filename);
        }
        assert.equal(names.size, server.seen.length, 'file names are unique');
        assert.ok(r.p50 > 0 && r.p99 >= r.p50 && r.p999 >= r.p99);
        assert.ok(r.seconds >= 0.9 && r.seconds < 3, `ran ${r.seconds} s`);
        assert.ok(r.loadCpuS >= 0 && r.loadCpu < 1.5, `wrk used ${r.loadCpu} of a core`);
        assert.equal(r.wrkFfi, true); // Debian's wrk is built on LuaJIT: the cheap path is in use
      } finally {
        await server.close();
      }
    });
  }

  it('GETs the listed paths in turn', async () => {
    const server = await captureServer();
    try {
      const paths = ['/uploads?limit=50', '/uploads/a', '/uploads/b'];
      const r = await runWrk({ url: server.url, mode: 'paths', file: writePathsFile(tmp, paths), connections: 1, durationS: 1 });
      assert.ok(r.acked >= 6);
      // wrk asks for one request up front to check it parses, so the cycle may start anywhere.
      const first = paths.indexOf(server.seen[0].url);
      assert.ok(first >= 0);
      server.seen.slice(0, 6).forEach((q, i) => assert.equal(`${q.method} ${q.url}`, `GET ${paths[(first + i) % paths.length]}`));
    } finally {
      await server.close();
    }
  });

  it('counts answers of 400 and more as non-2xx, not as acknowledged', async () => {
    const server = http.createServer((req, res) => req.resume().on('end', () => res.writeHead(503).end()));
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${server.address().port}/uploads`;
      const r = await runWrk({ url, mode: 'upload', file: writeUploadTemplate(tmp, { url, size: 10 }), connections: 2, durationS: 1 });
      assert.equal(r.acked, 0);
      assert.ok(r.non2xx > 0);
      assert.equal(r.rps, 0);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe('wrk result', () => {
  const line = (over = {}) =>
    `Running 10s test @ http://x\n  1 threads and 32 connections\nWRK_RESULT ${JSON.stringify({
      durationUs: 10_000_000,
      requests: 1000,
      bytes: 1,
      errors: { connect: 1, read: 2, write: 0, status: 10, timeout: 3 },
      latencyUs: { min: 100, mean: 2000.5, max: 90_000, p50: 1500, p90: 4000, p99: 12_345, p999: 80_000 },
      cpuTicks: { user: 30, system: 20 },
      ffi: true,
      ...over,
    })}\n`;

  it('turns wrk counts into acknowledged uploads, ms and the share of a core wrk used', () => {
    const r = parseWrkOutput(line(), 100);
    assert.equal(r.acked, 990);
    assert.equal(r.non2xx, 10);
    assert.equal(r.errors, 6);
    assert.equal(r.timeouts, 3);
    assert.equal(r.rps, 99);
    assert.equal(r.p50, 1.5);
    assert.equal(r.p99, 12.345);
    assert.equal(r.loadCpuS, 0.5);
    assert.equal(r.loadCpu, 0.05);
  });

  it('has no latency when nothing completed, and says so when wrk printed no result', () => {
    const r = parseWrkOutput(line({ requests: 0, errors: { connect: 5, read: 0, write: 0, status: 0, timeout: 0 } }), 100);
    assert.equal(r.acked, 0);
    assert.equal(r.p99, undefined);
    assert.throws(() => parseWrkOutput('Running 1s test\n'), /no WRK_RESULT/);
  });
});

describe('CPU accounting from /proc', () => {
  it('reads utime and stime after the command name, whatever it holds', () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3)); // field 3 onwards
    fields[11] = '1234'; // utime, field 14
    fields[12] = '56'; // stime, field 15
    assert.deepEqual(parseStatTicks(`42 (we ird) (name)) ${fields.join(' ')}`), { user: 1234, system: 56 });
    assert.throws(() => parseStatTicks('42 (x) R'), /not a \/proc/);
  });

  it('counts the CPU a process uses, all threads, in seconds', () => {
    assert.ok(clockTicksPerSecond() > 0);
    const before = readCpuTicks(process.pid);
    const meter = cpuMeter(process.pid);
    const start = process.cpuUsage();
    // Burn 0.2 s of CPU (not of wall time: on a busy machine this process may wait for a core).
    const spent = () => {
      const d = process.cpuUsage(start);
      return (d.user + d.system) / 1e6;
    };
    while (spent() < 0.2);
    const used = meter.seconds();
    // Clock ticks are 10 ms: allow a few either way.
    assert.ok(Math.abs(used - spent()) < 0.05, `measured ${used} s, node says ${spent()} s`);
    assert.ok(readCpuTicks(process.pid) > before);
    assert.equal(readCpuTicks(2 ** 30), undefined); // no such process
  });

  it("tells the main thread's CPU from the other threads'", async () => {
    const meter = cpuMeter(process.pid);
    // First a worker thread burns at least 0.5 s while this (main) thread waits, then this thread
    // burns 0.1 s once the worker is gone. User and system time both count: each process.cpuUsage()
    // is a getrusage call, and on some kernels a loop of them spends most of its time in the kernel.
    const worker = new Worker(
      'const s = process.cpuUsage(); for (let u = { user: 0, system: 0 }; u.user + u.system < 500000; u = process.cpuUsage(s)); require("node:worker_threads").parentPort.postMessage(0);',
      { eval: true },
    );
    await once(worker, 'message');
    await worker.terminate();
    const start = process.cpuUsage();
    for (let used = { user: 0, system: 0 }; used.user + used.system < 100_000; used = process.cpuUsage(start));
    const { userS, systemS, mainS } = meter.split();
    // Clock ticks are 10 ms, and starting a worker (an isolate of its own) costs both threads 0.1-0.2 s more.
    assert.ok(mainS >= 0.09 && mainS < 0.4, `main thread ${mainS} s`);
    assert.ok(userS + systemS - mainS >= 0.45, `other threads ${userS + systemS - mainS} s`);
  });

  it('matches what the kernel reports for this process', () => {
    const { user, system } = parseStatTicks(readFileSync('/proc/self/stat', 'utf8'));
    const usage = process.cpuUsage();
    const kernel = (user + system) / clockTicksPerSecond();
    assert.ok(Math.abs(kernel - (usage.user + usage.system) / 1e6) < 0.2, `${kernel} vs ${usage.user + usage.system} µs`);
  });
});
