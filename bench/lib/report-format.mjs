// Cell formatting and table layout for the report (report.mjs).
import { median } from './stats.mjs';

export const num = (n, digits = 1) => (typeof n === 'number' && Number.isFinite(n) ? n.toFixed(digits) : '—');
export const ratio = (n) => (typeof n === 'number' && Number.isFinite(n) ? `${n.toFixed(2)}×` : '—');
export const ms = (n) => (typeof n === 'number' && Number.isFinite(n) ? (n < 10 ? n.toFixed(2) : n.toFixed(1)) : '—');

const LEFT = new Set(['Server', 'Target', 'Goal', 'Figure', 'Result', 'File', 'Durability', 'Fact', 'Value']);

export function table(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map((h) => (LEFT.has(h) ? '---' : '---:'))), ...rows.map(line)].join('\n');
}

/** Medians over runs of one server's figure, by field. */
export function medians(runs, fields) {
  const out = { runs: runs?.length ?? 0, range: {} };
  for (const f of fields) {
    const xs = (runs ?? []).map((r) => r[f]).filter((v) => typeof v === 'number' && Number.isFinite(v));
    out[f] = median(xs);
    if (xs.length > 1) out.range[f] = [Math.min(...xs), Math.max(...xs)];
  }
  return out;
}

/** "617" or, over several runs, "617 (540–650)": the median and the spread. */
export function withRange(m, field, digits = 0) {
  const r = m.range[field];
  return r ? `${num(m[field], digits)} (${num(r[0], digits)}–${num(r[1], digits)})` : num(m[field], digits);
}
