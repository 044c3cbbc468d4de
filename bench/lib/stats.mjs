// Small numeric helpers shared by the load worker and the report.

/** Nearest-rank percentile (q in 0..1) of an unsorted array; undefined when empty. */
export function percentile(values, q) {
  if (values.length === 0) return undefined;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1];
}

/** Median of the defined numbers in `values`; undefined when there are none. */
export function median(values) {
  const xs = values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return undefined;
  const mid = Math.floor(xs.length / 2);
  return xs.length % 2 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
}

export function sum(values) {
  return values.reduce((a, b) => a + (b ?? 0), 0);
}

const UNITS = {
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};

/** "64MiB", "4k", "1GiB", "1048576" → bytes (binary multiples). */
export function parseSize(text) {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(String(text));
  const unit = m && UNITS[(m[2] || 'b').toLowerCase()];
  if (!m || !unit) throw new Error(`Not a size: ${JSON.stringify(text)} (use e.g. 4KiB, 64MiB, 1GiB)`);
  return Math.round(Number(m[1]) * unit);
}

/** 65536 → "64 KiB", 1073741824 → "1 GiB". */
export function formatSize(bytes) {
  for (const [unit, n] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ]) {
    if (bytes >= n && bytes % (n / 16) === 0) return `${+(bytes / n).toFixed(2)} ${unit}`;
  }
  return `${bytes} B`;
}

/**
 * Ratios of `key` between two servers measured in the same cycles (`a[i]` and `b[i]` ran back to
 * back): b / a per cycle, skipping cycles where either figure is missing. On a shared machine whose
 * speed drifts over tens of seconds, a pair measured seconds apart shares the drift, so the median of
 * these ratios is steadier than the ratio of two medians taken minutes apart.
 */
export function pairedRatios(a, b, key) {
  const ratios = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i]?.[key];
    const y = b[i]?.[key];
    if (Number.isFinite(x) && Number.isFinite(y) && x > 0) ratios.push(y / x);
  }
  return ratios;
}
