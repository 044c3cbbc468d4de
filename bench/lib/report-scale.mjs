// The report's scale section: the service on a store of 1,000 uploads and on a big one (1,000,000
// in a full run), same figures side by side, medians over the runs.
import { ms, num, ratio, table } from './report-format.mjs';
import { formatSize } from './stats.mjs';

const MiB = 1024 ** 2;
const count = (n) => n.toLocaleString('en-US');

export function scaleSection(v) {
  const { config } = v;
  const { base, big, error } = v.scale;
  const out = [];
  if (error || !base || !big) {
    out.push(`_Not measured${error ? `: ${error.split('\n')[0]}` : ''}._`, '');
    return out;
  }
  const rows = [];
  const row = (name, field, show, { ratioToo = true } = {}) => {
    const a = base.m[field];
    const b = big.m[field];
    rows.push([name, show(a), show(b), ratioToo ? ratio(b / a) : '—']);
  };
  const mib = (x) => num(x / MiB, 0);
  const seconds = (x) => num(x / 1000, 2);
  const rps = (x) => num(x, 0);
  const { upload, listLimit, readConnections } = config.scale;
  row('Start-up to a served /health (s)', 'startupMs', seconds);
  row('Start-up reconciliation sweep, done after (s)', 'sweepMs', seconds);
  row('Peak RSS while the sweep runs (MiB)', 'sweepPeakRss', mib);
  row('… of which anonymous (heap, buffers) (MiB)', 'sweepPeakAnon', mib);
  row('… mapped files (LMDB) at their peak (MiB)', 'sweepPeakFile', mib);
  row(`GET /uploads?limit=${listLimit}, c=${readConnections}: p99 (ms)`, 'listP99', ms);
  row(`GET /uploads?limit=${listLimit}, c=${readConnections}: req/s`, 'listRps', rps);
  row(`GET /uploads/{id}, c=${readConnections}: p99 (ms)`, 'getP99', ms);
  row(`GET /uploads/{id}, c=${readConnections}: req/s`, 'getRps', rps);
  row(`Upload ${formatSize(upload.size)}, c=${upload.concurrency}: req/s`, 'uploadRps', rps);
  row(`Upload ${formatSize(upload.size)}, c=${upload.concurrency}: p99 (ms)`, 'uploadP99', ms);
  row(`Upload ${formatSize(upload.size)}, c=${upload.concurrency}: server CPU per upload (ms)`, 'uploadCpuMs', (x) => num(x, 3));
  row('wrk CPU, highest of the three loads (% of a core)', 'loadCpu', (x) => num(x * 100, 0), { ratioToo: false });
  row('Periodic sweep: stored uploads it checks', 'periodicChecked', (x) => num(x, 0), { ratioToo: false });
  row('Periodic sweep: server CPU per sweep (ms)', 'periodicCpuMs', (x) => num(x, 0), { ratioToo: false });
  row('Periodic sweep: server CPU per stored upload checked (µs)', 'periodicCpuPerCheckUs', (x) => num(x, 1));
  out.push(table(['Figure', `${count(base.records)} stored`, `${count(big.records)} stored`, 'ratio'], rows));
  out.push('');
  const seedS = big.seed?.seconds;
  out.push(
    `Each store is seeded before the first run (${count(big.records)} in ${num(seedS, 0)} s) through the service's own record store (its LMDB repository, so the records, status index and encoding are the service's), every upload \`stored\` with its ${formatSize(config.scale.seedFileSize)} file where the storage backend looks for it (hard links of a few files; without its file the start-up sweep would turn an upload \`failed\`). Run by run, the service (DURABILITY=fsync, \`RECONCILE_INTERVAL_MS=0\` so no periodic sweep lands in a figure) starts on each store in turn, with the page cache warm from seeding. Start-up is from spawning the process to the first 200 from \`/health\` (polled every 10 ms); the sweep runs in the background from start-up, and memory is sampled every 10 ms from spawning until \`/health\` counts the sweep (peak RSS also from VmHWM). Anonymous RSS (RssAnon: heap and buffers) is what a sweep holding records would grow; mapped files (RssFile) are LMDB's memory map, pages the kernel reclaims at will, and grow with what the sweep reads. Then, sweep done, wrk reads the list (${readConnections} connections), then ids spread over the whole store in a shuffled order (${count(Math.min(config.scale.getIds, big.records))} of them), then uploads (checked on disk like every upload figure). For the periodic sweeps the service starts once more on the same store, with \`RECONCILE_INTERVAL_MS=${config.scale.periodic?.intervalMs}\`; once the start-up sweep is done, its CPU (all threads, from \`/proc\`) is counted over the next ${config.scale.periodic?.periods} periods and divided by the sweeps that ended in them (\`/health\`'s totals, read only at both ends), idle time between them included. Each periodic sweep checks \`RECONCILE_BATCH\` (20,000 unless set) stored uploads, going on where the previous one stopped, so its cost is bounded by that batch, not by the store.`,
  );
  const notes = v.scale.sets.flatMap((s) => [
    ...s.integrity.issues.map((i) => `**${s.label}: ${i}**`),
    ...s.integrity.notes.map((n) => `${s.label}: ${n}`),
  ]);
  if (notes.length) out.push('', 'Notes:', '', ...notes.map((n) => `- ${n}`));
  out.push('');
  return out;
}
