// CPU time of a process from /proc/<pid>/stat: utime + stime. For a process (a thread group) the
// kernel sums every thread, live or exited (libuv's pool, worker threads, LMDB's writer); children
// are not included. The unit is the clock tick (USER_HZ, `getconf CLK_TCK`, 100 on Linux).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond;

export function clockTicksPerSecond() {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    } catch {
      ticksPerSecond = NaN;
    }
    if (!(ticksPerSecond > 0)) ticksPerSecond = 100; // USER_HZ is 100 on every mainstream Linux build
  }
  return ticksPerSecond;
}

/**
 * utime and stime (clock ticks) from the text of /proc/<pid>/stat. The command name, field 2, is in
 * parentheses and may itself hold spaces and parentheses, so fields are counted after the last ')'.
 */
export function parseStatTicks(text) {
  const rest = text.slice(text.lastIndexOf(')') + 2).trim().split(/\s+/); // rest[0] is field 3
  const user = Number(rest[11]); // field 14
  const system = Number(rest[12]); // field 15
  if (!Number.isInteger(user) || !Number.isInteger(system)) throw new Error(`not a /proc/<pid>/stat line: ${text.slice(0, 120)}`);
  return { user, system };
}

/** utime + stime of `pid` in clock ticks; undefined once the process is gone. */
export function readCpuTicks(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const { user, system } = parseStatTicks(text);
  return user + system;
}

/** Starts counting `pid`'s CPU now; `seconds()` is the CPU time used since (undefined if it is gone). */
export function cpuMeter(pid) {
  const start = readCpuTicks(pid);
  return {
    seconds() {
      const now = readCpuTicks(pid);
      return start === undefined || now === undefined ? undefined : (now - start) / clockTicksPerSecond();
    },
  };
}
