// Child processes the harness owns (servers, the build, load workers): start them, watch them,
// and make sure every one of them is gone when the harness ends, however it ends.
import { execFile, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import process from 'node:process';

const live = new Set();

/** Registers a child so `killAll` (and the exit hook) can end it. */
export function track(child) {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Last resort, synchronous (usable from process 'exit'): SIGKILL whatever is still running. */
export function killAllNow() {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
export function stopChild(child, graceMs = 3000) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
    child.kill('SIGCONT'); // a server the harness froze (servers.mjs isolate) must run to handle it
  });
}

export async function stopAll() {
  await Promise.all([...live].map((c) => stopChild(c)));
}

/** Keeps the last `max` characters written to a stream, for error messages. */
function tail(stream, max = 8192) {
  const buf = { text: '' };
  stream?.setEncoding('utf8');
  stream?.on('data', (s) => {
    buf.text = (buf.text + s).slice(-max);
  });
  return buf;
}

/** Runs a command to completion (bounded); resolves { code, output }. */
export function runCommand(cmd, args, { cwd, env, timeoutMs }) {
  return new Promise((resolve) => {
    const child = track(spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] }));
    const out = tail(child.stdout, 16384);
    const err = tail(child.stderr, 16384);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      err.text += `\n${e.message}`;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? `killed by ${signal}` : 'unknown'), output: `${out.text}${err.text}`.trim() });
    });
  });
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const preload = pathToFileURL(join(import.meta.dirname, 'exit-with-parent.mjs')).href;

/**
 * Starts `node <nodeArgs> <script>` with `env` and waits for GET /health to answer 200 (polled every `pollMs`).
 * The child's stdin stays open (see exit-with-parent.mjs); stdout/stderr are drained into a tail for
 * diagnostics. `onSpawn(pid)` runs as soon as the process exists (to watch it while it starts).
 * The server record's `readyMs` is the time from spawning to the first 200 from /health.
 */
export async function startNodeServer({ name, script, nodeArgs = [], cwd, env, port, readyTimeoutMs = 30_000, pollMs = 100, onSpawn }) {
  const t0 = performance.now();
  const spawnedAt = Date.now();
  const child = track(
    spawn(process.execPath, [...nodeArgs, '--import', preload, script], {
      cwd,
      env: { ...process.env, ...env, PORT: String(port), BENCH_EXIT_WITH_PARENT: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    }),
  );
  onSpawn?.(child.pid);
  const output = { stdout: tail(child.stdout), stderr: tail(child.stderr) };
  const server = {
    name,
    child,
    pid: child.pid,
    port,
    url: `http://127.0.0.1:${port}`,
    exited: undefined,
    spawnedAt, // wall clock, to compare with times the server reports
    readyMs: undefined,
    output: () => `${output.stdout.text}${output.stderr.text}`.trim(),
  };
  child.on('exit', (code, signal) => {
    server.exited = { code, signal };
  });
  child.on('error', (err) => {
    server.exited ??= { code: null, signal: null, error: err.message };
  });
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (server.exited) throw new Error(`${name} exited during start-up (${describeExit(server.exited)}):\n${server.output().slice(-4000)}`);
    const res = await fetch(`${server.url}/health`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
    if (res) await res.arrayBuffer().catch(() => undefined);
    if (res?.status === 200) {
      server.readyMs = performance.now() - t0;
      return server;
    }
    if (Date.now() > deadline) {
      await stopChild(child);
      throw new Error(
        `${name} did not answer GET /health with 200 within ${readyTimeoutMs} ms${res ? ` (last status ${res.status})` : ''}:\n${server.output().slice(-4000)}`,
      );
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

export function describeExit(exited) {
  if (!exited) return 'running';
  if (exited.error) return exited.error;
  return exited.signal ? `signal ${exited.signal}` : `exit code ${exited.code}`;
}

/**
 * Resident memory of a process, in bytes; undefined once it is gone. `rss` (VmRSS) is `anon` (heap,
 * buffers: RssAnon) plus `file` (mapped files, e.g. LMDB's memory map: RssFile) plus shared memory;
 * `hwm` (VmHWM) is the peak of `rss`.
 */
export function readMemory(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { rss: kib('VmRSS'), hwm: kib('VmHWM'), anon: kib('RssAnon'), file: kib('RssFile') };
  } catch {
    return undefined;
  }
}

/**
 * Samples a process's resident memory every `intervalMs` until `stop()`. Also resets the kernel's
 * high-water mark first (clear_refs 5, Linux ≥ 4.0) so VmHWM covers exactly this window, catching
 * peaks shorter than the sampling interval; where that reset is refused the sampled peak is used.
 * The kernel keeps no peak of RssAnon, so `peakAnon` is sampled only.
 */
export function sampleMemory(pid, intervalMs = 10) {
  let hwmReset = false;
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    hwmReset = true;
  } catch {
    /* not permitted here: fall back to sampling */
  }
  const first = readMemory(pid);
  const start = first?.rss;
  let sampledPeak = start ?? 0;
  let peakAnon = first?.anon ?? 0;
  let peakFile = first?.file ?? 0;
  const take = () => {
    const m = readMemory(pid);
    if (!m) return m;
    if (m.rss > sampledPeak) sampledPeak = m.rss;
    if (m.anon > peakAnon) peakAnon = m.anon;
    if (m.file > peakFile) peakFile = m.file;
    return m;
  };
  const timer = setInterval(take, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      const m = take();
      const peak = hwmReset && m && Number.isFinite(m.hwm) ? Math.max(m.hwm, sampledPeak) : sampledPeak;
      return { peak, start, startAnon: first?.anon, sampledPeak, peakAnon, peakFile, hwm: m?.hwm, hwmReset };
    },
  };
}

/**
 * Writes back every dirty page (`sync`) before a measurement: otherwise a server would pay, during its
 * window, for flushing what the server measured before it left in the page cache.
 */
export function flushDirtyPages(timeoutMs = 120_000) {
  return new Promise((resolve) => {
    execFile('sync', { timeout: timeoutMs }, () => resolve()); // best effort: a failed sync only adds noise
  });
}
