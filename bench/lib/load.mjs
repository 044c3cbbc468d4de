// Orchestrator side of the Node load clients (load-worker.mjs): one short-lived process per measurement.
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { track } from './proc.mjs';

const worker = join(import.meta.dirname, 'load-worker.mjs');

/** Runs `job` in a fresh load-worker process; kills it and rejects after `timeoutMs`. */
export function runLoad(job, timeoutMs) {
  return new Promise((resolve, reject) => {
    const child = track(fork(worker, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    let done = false;
    const finish = (fn, value) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      fn(value);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(reject, new Error(`load worker (${job.type}) did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('message', (msg) => {
      if (msg.ok) finish(resolve, msg.result);
      else finish(reject, new Error(`load worker (${job.type}) failed: ${msg.error}`));
    });
    child.once('error', (err) => finish(reject, err));
    child.once('exit', (code, signal) => finish(reject, new Error(`load worker (${job.type}) exited early (${signal ?? `code ${code}`})`)));
    child.send(job);
  });
}
