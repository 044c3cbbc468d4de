// Mounting crashfs.py (the FUSE layer) and always unmounting it, on failure and at exit too.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';

const DAEMON = join(import.meta.dirname, '..', 'crashfs.py');
export const INSTALL_HINT =
  'crash tests need FUSE: install Debian packages fuse3 and python3-fusepy (apt-get install -y fuse3 python3-fusepy)';

function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function pythonsOnPath() {
  return (process.env.PATH ?? '').split(delimiter).flatMap((dir) => {
    const candidate = join(dir, 'python3');
    try {
      accessSync(candidate, constants.X_OK);
      return [candidate];
    } catch {
      return [];
    }
  });
}

let tools;
/**
 * The first python3 on PATH that imports fusepy (a pyenv or venv python3 earlier on PATH may not
 * see Debian's dist-packages), and fusermount3/fusermount. Throws INSTALL_HINT when either is missing.
 */
export function fuseTools() {
  if (tools) return tools;
  const python = pythonsOnPath().find((candidate) => {
    try {
      execFileSync(candidate, ['-c', 'try:\n import fusepy\nexcept ImportError:\n import fuse'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
  const fusermount = onPath('fusermount3') ?? onPath('fusermount');
  if (!python || !fusermount) throw new Error(INSTALL_HINT);
  tools = { python, fusermount };
  return tools;
}

const mounted = new Set();
function unmountNow(mountpoint) {
  spawnSync(fuseTools().fusermount, ['-u', '-z', mountpoint], { stdio: 'ignore' });
}
process.on('exit', () => {
  for (const mountpoint of mounted) unmountNow(mountpoint);
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    for (const mountpoint of mounted) unmountNow(mountpoint);
    process.exit(130);
  });
}

/**
 * Mounts `backing` at `mountpoint` through crashfs, journaling into `journalDir`; resolves once the
 * kernel has the mount (the daemon's `ready` line). `unmount()` must be called (in a finally).
 * `ignoreFsyncdir`, `slowFsyncdir`, `faults` (a file of `ERRNO /prefix` lines): see crashfs.py.
 */
export async function mountCrashFs({ backing, mountpoint, journalDir, ignoreFsyncdir, slowFsyncdir, faults }) {
  const { python, fusermount } = fuseTools();
  const args = [DAEMON, backing, mountpoint, journalDir];
  if (ignoreFsyncdir) args.push('--ignore-fsyncdir', ignoreFsyncdir);
  if (slowFsyncdir) args.push('--slow-fsyncdir', slowFsyncdir);
  if (faults) args.push('--faults', faults);
  const proc = spawn(python, ['-B', '-W', 'ignore', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)));
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const ready = new Promise((resolve) => {
    createInterface({ input: proc.stdout }).on('line', (line) => line === 'ready' && resolve(true));
  });
  mounted.add(mountpoint);
  if (!(await Promise.race([ready, exited.then(() => false)]))) {
    mounted.delete(mountpoint);
    throw new Error(`crashfs did not mount ${mountpoint}: ${stderr}`);
  }
  return {
    /** Unmounts (every process using the mount must be gone) and waits for the daemon to finish its journal. */
    async unmount() {
      if (!mounted.has(mountpoint)) return;
      const result = spawnSync(fusermount, ['-u', mountpoint], { encoding: 'utf8' });
      if (result.status !== 0) unmountNow(mountpoint); // busy: detach lazily rather than leave it mounted
      mounted.delete(mountpoint);
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      const { code } = await exited;
      clearTimeout(timer);
      if (code !== 0) throw new Error(`crashfs exited with ${code}: ${stderr}`);
    },
  };
}
