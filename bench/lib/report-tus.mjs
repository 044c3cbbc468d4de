// The report's section on resumable uploads: 1 GiB through tus in 8 MiB PATCHes against one POST,
// from the figures bench/tus.mjs measured (results.tus).
import { formatSize } from './stats.mjs';

const MiB = 1024 ** 2;

/** Markdown lines for `t` ({ post, tus, ratio, size, chunk, runs, durability }); `t` may be missing. */
export function tusSection(t) {
  if (!t) return ['Not measured: the tus figure failed (see Problems).', ''];
  const mib = (bytes) => (bytes / MiB).toFixed(0);
  return [
    `Same service process (DURABILITY=${t.durability}), same run; tus sends ${formatSize(t.chunk)} PATCHes one after another, as tus-js-client does. Median of ${t.runs} run(s) each, alternating.`,
    '',
    '| Upload | MB/s | × POST | Peak RSS (MiB) | Growth (MiB) |',
    '|---|---|---|---|---|',
    `| one POST (multipart) | ${t.post.mbps.toFixed(0)} | 1.00 | ${mib(t.post.peakRss)} | ${mib(t.post.growth)} |`,
    `| tus, ${formatSize(t.chunk)} PATCHes | ${t.tus.mbps.toFixed(0)} | ${t.ratio.toFixed(2)} | ${mib(t.tus.peakRss)} | ${mib(t.tus.growth)} |`,
    '',
  ];
}
