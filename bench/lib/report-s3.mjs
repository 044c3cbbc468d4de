// The report's section on object storage: one large upload stored to S3 (moto), from the figures
// bench/s3-store.mjs measured (results.s3).
import { formatSize } from './stats.mjs';

const MiB = 1024 ** 2;

/** Markdown lines for `s3` ({ result } or { error }); `s3` may be missing. */
export function s3Section(s3) {
  if (!s3) return ['Not measured: the S3 figure failed (see Problems).', ''];
  const out = [];
  if (s3.error) return [`Not measured: ${s3.error}`, ''];
  const r = s3.result;
  const mib = (n) => `${(n / MiB).toFixed(0)} MiB`;
  out.push(
    `One ${formatSize(r.size)} upload, \`STORAGE_BACKEND=s3\`, parts of ${formatSize(r.partSize)}, ${r.partsInFlight} in flight (\`node bench/s3-store.mjs\`).`,
    '',
    '| from 202 to stored | RSS growth while storing | bound (part size × parts in flight) | target (bound + 32 MiB) | |',
    '|---:|---:|---:|---:|---|',
    `| ${r.mbps.toFixed(0)} MB/s (${r.seconds.toFixed(1)} s) | ${mib(r.rssGrowth)} (${mib(r.rssAt202)} → ${mib(r.rssPeakWhileStoring)}) | ${mib(r.bound)} | ${mib(r.target)} | ${r.withinTarget ? 'within' : '**over**'} |`,
    '',
  );
  return out;
}
