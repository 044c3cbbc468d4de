// wrk, the load generator of the many-uploads and GET figures: native code on one thread, so on a
// 2-core machine it leaves the server its core (autocannon, in Node, took most of one and made
// every server look alike). Requests come from wrk/bench.lua, which prints one WRK_RESULT line:
// counts, wrk's own latency percentiles and wrk's own CPU time (from its /proc/self/stat).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import process from 'node:process';
import { clockTicksPerSecond } from './cpu.mjs';
import { CONTENT_TYPE, envelope, payloadPattern } from './multipart.mjs';
import { track } from './proc.mjs';

export const WRK_SCRIPT = join(import.meta.dirname, 'wrk', 'bench.lua');

/** Digits of the per-request counter in the file name: 10^10 names per thread, a fixed length. */
export const COUNTER_WIDTH = 10;

export const WRK_MISSING = 'wrk is not on PATH: install it (Debian/Ubuntu: apt-get install wrk; .ci/run does this)';

/** The wrk executable found on PATH, or undefined. */
export function findWrk(env = process.env) {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'wrk');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/**
 * A complete HTTP request uploading `size` bytes of the payload pattern as `<tag>-##########.bin`;
 * bench.lua overwrites the '#' run with each request's counter. Fixed width, so Content-Length holds.
 */
export function uploadTemplate({ url, size, tag = randomBytes(4).toString('hex') }) {
  if (!/^[A-Za-z0-9_.-]+$/.test(tag)) throw new Error(`unsafe file name tag ${JSON.stringify(tag)}`);
  const pattern = payloadPattern();
  if (size > pattern.length) throw new Error(`wrk uploads are for files up to ${pattern.length} bytes, got ${size}`);
  const target = new URL(url);
  const { head, tail, contentLength } = envelope(size, { filename: `${tag}-${'#'.repeat(COUNTER_WIDTH)}.bin` });
  const start = Buffer.from(
    `POST ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nContent-Type: ${CONTENT_TYPE}\r\nContent-Length: ${contentLength}\r\n\r\n`,
  );
  const request = Buffer.concat([start, head, pattern.subarray(0, size), tail]);
  // bench.lua takes the first run of '#': it must be the counter field, whole.
  const at = request.indexOf('#');
  if (at !== start.length + head.indexOf('#') || request[at + COUNTER_WIDTH] === 0x23)
    throw new Error('the counter field is not the first run of #');
  return request;
}

/** Writes the template for `uploadTemplate(options)` into `dir`; resolves its path. */
export function writeUploadTemplate(dir, options) {
  const path = join(dir, `wrk-upload-${randomBytes(6).toString('hex')}.req`);
  writeFileSync(path, uploadTemplate(options));
  return path;
}

/** Writes a list of request paths (one a line) for bench.lua's `paths` mode; resolves its path. */
export function writePathsFile(dir, paths) {
  if (paths.length === 0 || paths.some((p) => !p.startsWith('/') || /\s/.test(p)))
    throw new Error('paths must be non-empty, absolute and without spaces');
  const path = join(dir, `wrk-paths-${randomBytes(6).toString('hex')}.txt`);
  writeFileSync(path, `${paths.join('\n')}\n`);
  return path;
}

/**
 * Turns wrk's output into the harness's figures. wrk counts answers ≥ 400 as `status` errors (the
 * servers send no 1xx or 3xx), so acknowledged = completed − those. Latencies are in ms, from wrk's
 * histogram (all completed requests). `loadCpu` is wrk's CPU as a fraction of one core over its run.
 */
export function parseWrkOutput(stdout, ticksPerSecond = clockTicksPerSecond()) {
  const line = stdout.split('\n').find((l) => l.startsWith('WRK_RESULT '));
  if (!line) throw new Error(`wrk printed no WRK_RESULT line:\n${stdout.slice(-2000)}`);
  const raw = JSON.parse(line.slice('WRK_RESULT '.length));
  const seconds = raw.durationUs / 1e6;
  const e = raw.errors;
  const acked = raw.requests - e.status;
  const ms = (us) => us / 1000;
  const l = raw.latencyUs;
  const loadCpuS = (raw.cpuTicks.user + raw.cpuTicks.system) / ticksPerSecond;
  return {
    acked,
    completed: raw.requests,
    non2xx: e.status,
    errors: e.connect + e.read + e.write + e.timeout,
    timeouts: e.timeout,
    seconds,
    rps: acked / seconds,
    // wrk reports 0 for an empty histogram: no completed request, no latency.
    ...(raw.requests > 0 ? { p50: ms(l.p50), p90: ms(l.p90), p99: ms(l.p99), p999: ms(l.p999), max: ms(l.max), mean: ms(l.mean) } : {}),
    loadCpuS,
    loadCpu: loadCpuS / seconds,
    wrkFfi: raw.ffi,
  };
}

/**
 * Runs wrk once: `mode` 'upload' (file: a template) or 'paths' (file: a paths list) against `url`
 * for `durationS` whole seconds (wrk takes no fractions) with `connections` on `threads` threads.
 * Rejects when wrk is missing, fails, or outlives the run by more than `graceS`.
 */
export function runWrk({ url, mode, file, connections, durationS, threads = 1, timeoutS = 30, graceS = 60 }) {
  const wrk = findWrk();
  if (!wrk) return Promise.reject(new Error(WRK_MISSING));
  const seconds = Math.max(1, Math.round(durationS));
  const args = [
    `--threads=${threads}`,
    `--connections=${connections}`,
    `--duration=${seconds}s`,
    `--timeout=${timeoutS}s`,
    `--script=${WRK_SCRIPT}`,
    url,
    '--',
    mode,
    file,
  ];
  return new Promise((resolve, reject) => {
    const child = track(spawn(wrk, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s) => (stderr = (stderr + s).slice(-4000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + graceS) * 1000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0)
        return reject(new Error(`wrk ${signal ? `killed by ${signal}` : `exited with ${code}`}: ${stderr.trim() || stdout.slice(-1000)}`));
      try {
        resolve({ ...parseWrkOutput(stdout), ...(stderr.trim() ? { wrkStderr: stderr.trim() } : {}) });
      } catch (err) {
        reject(new Error(`${err.message}\n${stderr}`));
      }
    });
  });
}
