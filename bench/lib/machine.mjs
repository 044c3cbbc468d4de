// Facts about the machine and the code under test, for the report's Machine table.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, statfsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import os from 'node:os';
import process from 'node:process';
import { medians, num, table, withRange } from './report-format.mjs';

const FS_TYPES = {
  0xef53: 'ext2/3/4',
  0x01021994: 'tmpfs',
  0x58465342: 'xfs',
  0x9123683e: 'btrfs',
  0x794c7630: 'overlayfs',
  0x2fc12fc1: 'zfs',
  0x6969: 'nfs',
};

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

/**
 * How many small files the disk under `dir` makes durable per second: 4 KiB files created, written,
 * fsynced and closed over ~`ms`, `concurrency` at a time (the thread pool's size, as the servers
 * have it). An upload acknowledged with DURABILITY=fsync costs at least one such fsync, so this
 * bounds what any server can acknowledge durably here, whatever its CPU. Resolves to files/s.
 */
export async function fsyncProbe(dir, { ms = 1000, concurrency = 4 } = {}) {
  const probeDir = mkdtempSync(join(dir, 'fsync-probe-'));
  const block = Buffer.alloc(4096, 7);
  let made = 0;
  const start = performance.now();
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async (_, lane) => {
        for (let i = 0; performance.now() - start < ms; i++) {
          const file = await open(join(probeDir, `${lane}-${i}`), 'wx');
          try {
            await file.write(block);
            await file.sync();
          } finally {
            await file.close();
          }
          made += 1;
        }
      }),
    );
    return made / ((performance.now() - start) / 1000);
  } finally {
    rmSync(probeDir, { recursive: true, force: true });
  }
}

/**
 * Kernel CPU (µs) to create one empty file in a new directory under `dir`: `files` creations, timed
 * with this process's system CPU. Every server creates a file per upload, and on the VMs this bench
 * has run on this cost moved between about 20 and 900 µs within minutes, machine-wide: it can
 * decide a run's figures by itself, so the harness reads it before each task.
 */
export function createProbe(dir, { files = 200 } = {}) {
  const probeDir = mkdtempSync(join(dir, 'create-probe-'));
  try {
    const before = process.cpuUsage().system;
    for (let i = 0; i < files; i++) closeSync(openSync(join(probeDir, String(i)), 'wx'));
    return (process.cpuUsage().system - before) / files;
  } finally {
    rmSync(probeDir, { recursive: true, force: true });
  }
}

/** The report's Machine section, as lines; `elapsedS` is the run's wall time. */
export function machineSection(machine, elapsedS) {
  const load = (l) => (l ? l.map((x) => x.toFixed(2)).join(' / ') : '—');
  const lines = [
    '## Machine',
    '',
    table(
      ['Fact', 'Value'],
      [
        ['Date', machine.date],
        ['CPU', `${machine.cores} cores (${machine.cpuModel ?? 'unknown'})`],
        ['Memory', `${(machine.memoryBytes / 1024 ** 3).toFixed(1)} GiB`],
        ['Node', machine.node],
        ['OS', machine.os],
        [
          'Storage (temp dir)',
          `${machine.storageFs}${Number.isFinite(machine.freeDiskBytes) ? `, ${(machine.freeDiskBytes / 1024 ** 3).toFixed(0)} GiB free at start` : ''}`,
        ],
        ['Load average 1/5/15 min, start → end', `${load(machine.loadStart)} → ${load(machine.loadEnd)}`],
        ['One core, SHA-256 MB/s (how much CPU the host gave), start → end', `${num(machine.cpuStart, 0)} → ${num(machine.cpuEnd, 0)}`],
        ...(machine.fsyncStart === undefined
          ? []
          : [
              [
                'Disk, 4 KiB files written and fsynced per second (4 at a time), start → end',
                `${num(machine.fsyncStart, 0)} → ${num(machine.fsyncEnd, 0)}`,
              ],
            ]),
        ...(machine.createCosts?.length
          ? [
              [
                'Kernel CPU to create one file (µs), read before each task: median (lowest–highest)',
                withRange(
                  medians(
                    machine.createCosts.map((us) => ({ us })),
                    ['us'],
                  ),
                  'us',
                ),
              ],
            ]
          : []),
        ['Service code', machine.commit ?? 'unknown (no git)'],
        ['Wall time of the run', `${elapsedS.toFixed(0)} s`],
      ],
    ),
  ];
  // Judged on the load before the run only: by its end the load average is the bench's own (its
  // servers, wrk, and on Linux every thread waiting on the disk), whatever else ran.
  const busy = Math.max(machine.loadStart?.[0] ?? 0, machine.loadStart?.[1] ?? 0) > machine.cores * 0.75;
  if (busy) {
    lines.push(
      '',
      '> **The machine was busy with other work when this run began** (load average over the last 1 or 5 minutes near or above the core count; Linux counts threads waiting on the disk too): absolute figures are noisy; ratios between servers, measured interleaved in the same run, hold up better.',
    );
  }
  lines.push('');
  return lines;
}
