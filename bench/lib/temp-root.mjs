// The run's temporary storage root. It and every child process go away on success, error and
// SIGINT/SIGTERM/SIGHUP alike; roots of runs that were killed outright are swept by the next run.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { killAllNow, stopAll } from './proc.mjs';

const TMP_PREFIX = 'stowage-bench-';

/** Removes temp roots left by runs that were killed outright (their owner process is gone). */
function sweepStaleTemp() {
  for (const name of readdirSync(os.tmpdir())) {
    if (!name.startsWith(TMP_PREFIX)) continue;
    const dir = join(os.tmpdir(), name);
    let owner;
    try {
      owner = Number(readFileSync(join(dir, 'owner.pid'), 'utf8'));
    } catch {
      continue; // not ours to judge
    }
    let running = true;
    try {
      process.kill(owner, 0);
    } catch (err) {
      running = err.code === 'EPERM';
    }
    if (!running) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Creates the root and installs the exit and signal hooks.
 * @returns {{ dir: string, remove: () => void }} `remove` is idempotent (`keep` only prints the path)
 */
export function createTempRoot({ keep, log }) {
  try {
    sweepStaleTemp();
  } catch {
    /* best effort */
  }
  const dir = mkdtempSync(join(os.tmpdir(), TMP_PREFIX));
  writeFileSync(join(dir, 'owner.pid'), String(process.pid));
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    if (keep) console.error(`kept storage directories under ${dir}`);
    else rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  };
  process.on('exit', () => {
    killAllNow();
    remove();
  });
  let interrupted = false;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, async () => {
      if (interrupted) process.exit(130);
      interrupted = true;
      log(`\n${signal}: stopping servers and removing ${dir} …`);
      const force = setTimeout(() => process.exit(130), 5000);
      await stopAll().catch(() => undefined);
      clearTimeout(force);
      process.exit(130);
    });
  }
  return { dir, remove };
}
