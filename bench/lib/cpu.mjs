// CPU time of a process from /proc/<pid>/stat: utime + stime (and, for the harness, its state). For
// a process (a thread group) the kernel sums every thread, live or exited (libuv's pool, worker
// threads, LMDB's writer); children are not included. The unit is the clock tick (USER_HZ, `getconf CLK_TCK`, 100 on Linux).
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
 * The fields of a /proc/<pid>/stat line from field 3 (the state) on. The command name, field 2, is in
 * parentheses and may itself hold spaces and parentheses, so fields are counted after the last ')'.
 */
function statFields(text) {
  return text
    .slice(text.lastIndexOf(')') + 2)
    .trim()
    .split(/\s+/);
}

/** utime and stime (clock ticks) from the text of /proc/<pid>/stat. */
export function parseStatTicks(text) {
  const rest = statFields(text); // rest[0] is field 3
  const user = Number(rest[11]); // field 14
  const system = Number(rest[12]); // field 15
  if (!Number.isInteger(user) || !Number.isInteger(system)) throw new Error(`not a /proc/<pid>/stat line: ${text.slice(0, 120)}`);
  return { user, system };
}

/** The text of /proc/<entry>/stat (`entry`: a pid, or `<pid>/task/<tid>` for one thread); undefined once it is gone. */
function readStat(entry) {
  try {
    return readFileSync(`/proc/${entry}/stat`, 'utf8');
  } catch {
    return undefined;
  }
}

/** utime and stime of `pid` (all its threads), or of its thread `tid` alone, in clock ticks; undefined once gone. */
export function readCpuSplit(pid, tid) {
  const text = readStat(tid === undefined ? pid : `${pid}/task/${tid}`);
  return text === undefined ? undefined : parseStatTicks(text);
}

/** `pid`'s state letter (R running, S sleeping, T stopped...); undefined once the process is gone. */
export function readProcessState(pid) {
  const text = readStat(pid);
  return text === undefined ? undefined : statFields(text)[0];
}

/** utime + stime of `pid` in clock ticks; undefined once the process is gone. */
export function readCpuTicks(pid) {
  const t = readCpuSplit(pid);
  return t && t.user + t.system;
}

/**
 * Starts counting `pid`'s CPU now. `seconds()` is the CPU time used since; `split()` the same as
 * { userS, systemS } (time in the kernel for the process: syscalls, page faults, the writeback an
 * fsync does in its caller's context), plus `mainS`, what of it the main thread (the event loop)
 * used: the rest is V8's helper threads (garbage collection, compilation), libuv's pool and other
 * native threads. Undefined once the process is gone.
 */
export function cpuMeter(pid) {
  const start = readCpuSplit(pid);
  const mainStart = readCpuSplit(pid, pid);
  const split = () => {
    const now = readCpuSplit(pid);
    const mainNow = readCpuSplit(pid, pid);
    if (!start || !now || !mainStart || !mainNow) return undefined;
    const hz = clockTicksPerSecond();
    const mainTicks = mainNow.user + mainNow.system - mainStart.user - mainStart.system;
    return { userS: (now.user - start.user) / hz, systemS: (now.system - start.system) / hz, mainS: mainTicks / hz };
  };
  return {
    split,
    seconds() {
      const s = split();
      return s && s.userS + s.systemS;
    },
  };
}
