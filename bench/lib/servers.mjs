// The servers under test: one state record each; starting and stopping them; waiting until one
// has nothing left to write; booking the files it wrote against what the client was told.
// `ctx` is the run's context from bench/run.mjs ({ root, config, tmpRoot, problems, log }).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import { readProcessState } from './cpu.mjs';
import { DiskLedger, checkRun } from './ledger.mjs';
import { describeExit, freePort, startNodeServer, stopChild } from './proc.mjs';
import { serviceNodeArgs } from './service-code.mjs';
import { until } from './until.mjs';

export const indent = (text) =>
  text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** GET for the control plane (health, settle checks); the body is JSON when it parses. */
export async function getJson(url, timeoutMs = 10_000) {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, body };
}

export function serverState(def, tmpRoot) {
  return {
    def,
    server: undefined,
    storageDir: join(tmpRoot, def.key),
    ledger: new DiskLedger(join(tmpRoot, def.key, 'files')),
    status: 'not started',
    figures: {},
    integrity: { acked: 0, files: 0, bytes: 0, expectedBytes: 0, lost: 0, wrong: 0, issues: [], notes: [] },
    notSettled: 0,
  };
}

/** Starts `s` on a free port with its own storage root; resolves the error when it did not start. */
export async function startServer(ctx, s) {
  const { def } = s;
  mkdirSync(s.storageDir, { recursive: true });
  try {
    s.server = await startNodeServer({
      name: def.label,
      script: def.script,
      nodeArgs: def.kind === 'service' ? serviceNodeArgs(ctx.root) : [],
      cwd: ctx.root,
      port: await freePort(),
      env: {
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        UPLOAD_DIR: s.storageDir,
        MAX_FILE_SIZE: String(ctx.config.maxFileSize),
        ...def.env,
      },
    });
    s.status = 'running';
    ctx.log(`start: ${def.label} pid ${s.server.pid} on ${s.server.url}`);
    return undefined;
  } catch (err) {
    s.status = 'not measured: did not start';
    ctx.problems.push(`${def.label}: ${err.message}`);
    ctx.log(`start: ${def.label} FAILED: ${err.message}`);
    return err;
  }
}

/** Stops `s`; a server that died on SIGTERM is noted, not fatal. */
export async function stopServer(ctx, s) {
  if (!s.server) return;
  alive(ctx, s);
  await stopChild(s.server.child);
  if (s.status === 'running') s.status = 'ok';
}

/**
 * Freezes (SIGSTOP) every other running server while `s` is measured; returns the thaw. An idle
 * server still runs now and then (V8 collecting its heap after a load, its timers), and on 2 cores
 * that would land in whichever server is measured next. Frozen, whatever a server defers runs in
 * its own window, counted against itself.
 * Resolves once the kernel reports every one of them stopped (a signal is delivered asynchronously).
 */
export async function isolate(ctx, s) {
  const frozen = [];
  for (const other of ctx.state.values()) {
    if (other === s || !other.server || other.server.exited) continue;
    try {
      process.kill(other.server.pid, 'SIGSTOP');
      frozen.push(other.server.pid);
    } catch {
      /* gone: alive() books it */
    }
  }
  const thaw = () => {
    for (const pid of frozen) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        /* gone */
      }
    }
  };
  try {
    await until(
      'the other servers to stop',
      () => frozen.every((pid) => [undefined, 'T'].includes(readProcessState(pid))) || undefined, // undefined: it exited
      5000,
    );
  } catch (err) {
    thaw();
    throw err;
  }
  return thaw;
}

/** Whether `s` is still up; the first time it is found dead, books why. */
export function alive(ctx, s) {
  if (!s.server) return false;
  if (s.server.exited && s.status === 'running') {
    s.status = `exited during the run (${describeExit(s.server.exited)})`;
    s.integrity.issues.push(`server ${s.status}`);
    ctx.problems.push(`${s.def.label}: ${s.status}. Last output:\n${indent(s.server.output().slice(-2000))}`);
  }
  return s.status === 'running';
}

/**
 * Waits until the server has nothing left to write. Baselines: GET /health `pending` is 0.
 * Service: /health's backlog reaches 0 (cheap), then, as the contract says, both
 * `GET /uploads?status=received&limit=1` and `?status=processing&limit=1` list nothing.
 */
export async function settle(ctx, s) {
  const started = Date.now();
  try {
    return await settleInner(ctx, s, started);
  } finally {
    s.lastSettleMs = Date.now() - started;
  }
}

async function settleInner(ctx, s, started) {
  const { settleTimeoutMs } = ctx.config;
  const deadline = started + settleTimeoutMs;
  const url = s.server.url;
  if (s.def.kind === 'baseline') {
    for (;;) {
      const h = await getJson(`${url}/health`).catch(() => undefined);
      if (h?.status === 200 && !h.body.pending) {
        const failedWrites = h.body.failedWrites ?? 0;
        if (failedWrites > (s.failedWritesSeen ?? 0)) {
          s.integrity.issues.push(`${failedWrites - (s.failedWritesSeen ?? 0)} write(s) failed after 202 (see the server's log)`);
          s.failedWritesSeen = failedWrites;
        }
        return { settled: true, ms: Date.now() - started };
      }
      if (Date.now() > deadline || !alive(ctx, s)) break;
      await sleep(20);
    }
  } else {
    for (;;) {
      const h = await getJson(`${url}/health`).catch(() => undefined);
      const backlog = h?.body?.details?.storage?.backlog ?? h?.body?.info?.storage?.backlog ?? h?.body?.error?.storage?.backlog;
      if (backlog === 0 || (h && backlog === undefined)) break;
      if (Date.now() > deadline || !alive(ctx, s)) break;
      await sleep(20);
    }
    for (;;) {
      const [received, processing] = await Promise.all([
        getJson(`${url}/uploads?status=received&limit=1`, 60_000).catch((err) => ({ error: err })),
        getJson(`${url}/uploads?status=processing&limit=1`, 60_000).catch((err) => ({ error: err })),
      ]);
      const empty = (r) => r.status === 200 && Array.isArray(r.body?.items) && r.body.items.length === 0;
      if (empty(received) && empty(processing)) return { settled: true, ms: Date.now() - started };
      for (const r of [received, processing]) {
        if (r.error || (r.status !== 200 && r.status !== undefined)) {
          const why = r.error ? r.error.message : `HTTP ${r.status}: ${JSON.stringify(r.body).slice(0, 200)}`;
          throw new Error(`listing uploads by status failed: ${why}`);
        }
      }
      if (Date.now() > deadline || !alive(ctx, s)) break;
      await sleep(50);
    }
  }
  s.notSettled++;
  s.integrity.issues.push(`did not finish storing within ${settleTimeoutMs / 1000} s`);
  return { settled: false, ms: Date.now() - started };
}

/** Uploads the service gave up on (status `failed`): each one is an acknowledged upload not stored. */
export async function countFailed(s) {
  const failed = await getJson(`${s.server.url}/uploads?status=failed&limit=100`, 60_000);
  if (failed.status !== 200 || !Array.isArray(failed.body?.items)) throw new Error(`GET /uploads?status=failed answered ${failed.status}`);
  const items = failed.body.items;
  if (items.length > 0) {
    const sample = items[0].error;
    s.integrity.issues.push(
      `${items.length}${failed.body.nextCursor ? '+' : ''} upload(s) ended \`failed\`${sample ? ` (e.g. ${sample.code}: ${sample.message})` : ''}`,
    );
  }
}

/** Counts the files a measurement left and books them against what the client was told. */
export async function verify(s, { acked, size, inFlight }) {
  const { fresh, temp } = await s.ledger.scanNew();
  const check = checkRun({ acked, size, inFlight, fresh, temp });
  const t = s.integrity;
  t.acked += check.acked;
  t.files += check.files;
  t.bytes += check.bytes;
  t.expectedBytes += check.expectedBytes;
  t.lost += check.lost;
  t.wrong += check.wrong;
  t.issues.push(...check.issues);
  for (const n of check.notes) if (!t.notes.includes(n)) t.notes.push(n);
  return { check, fresh };
}

/**
 * Baselines' files are emptied once counted (at full speed they write tens of GB per full run), and
 * set aside with their directory: each measurement of a baseline starts on a new, empty one (see
 * `DiskLedger.renew`).
 * The service's stay (its records point at them); only its large uploads are deleted, via the API.
 */
export async function freeBaselineDisk(s) {
  if (s.def.kind !== 'baseline') return;
  await s.ledger.renew();
}
