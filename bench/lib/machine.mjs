// Facts about the machine and the code under test, for the report's Machine table.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { statfsSync } from 'node:fs';
import os from 'node:os';
import process from 'node:process';

const FS_TYPES = { 0xef53: 'ext2/3/4', 0x01021994: 'tmpfs', 0x58465342: 'xfs', 0x9123683e: 'btrfs', 0x794c7630: 'overlayfs', 0x2fc12fc1: 'zfs', 0x6969: 'nfs' };

/** `storageDir` is where the servers store (its file system and free space matter); `root` is the git checkout. */
export function machineFacts({ root, storageDir }) {
  const cpus = os.cpus();
  let fsType;
  let freeDiskBytes = Infinity;
  try {
    const st = statfsSync(storageDir);
    fsType = FS_TYPES[st.type] ?? `0x${st.type.toString(16)}`;
    freeDiskBytes = st.bavail * st.bsize;
  } catch {
    fsType = 'unknown';
  }
  let commit;
  try {
    const git = (args) => execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const head = git(['rev-parse', '--short', 'HEAD']);
    const dirty = git(['status', '--porcelain', '--', 'src']);
    commit = `${head}${dirty ? ' + uncommitted changes in src/' : ''}`;
  } catch {
    commit = undefined;
  }
  return {
    date: new Date().toISOString(),
    cores: cpus.length,
    cpuModel: cpus[0]?.model?.trim(),
    memoryBytes: os.totalmem(),
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    storageFs: fsType,
    freeDiskBytes,
    loadStart: os.loadavg(),
    commit,
  };
}

/**
 * How fast one core is right now: SHA-256 throughput in MB/s over ~300 ms. Taken at the start and
 * the end of a run, it shows how much CPU a shared virtual machine was really given, which makes
 * runs on different days comparable (framework-heavy servers slow down more than raw-stream).
 */
export function cpuProbe(ms = 300) {
  const block = Buffer.alloc(1024 * 1024, 7);
  const hash = createHash('sha256');
  const start = process.hrtime.bigint();
  let bytes = 0;
  while (Number(process.hrtime.bigint() - start) / 1e6 < ms) {
    hash.update(block);
    bytes += block.length;
  }
  hash.digest();
  return bytes / 1e6 / (Number(process.hrtime.bigint() - start) / 1e9);
}
