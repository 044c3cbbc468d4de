// The Targets table (issue 18): each row is a goal, the figure, its ratio and met/missed, judged on
// figures measured in the same run: per-upload ratios to nest-floor are taken run by run, then the
// median (the figures shown are each server's median). The service's per-upload figures are compared with
// nest-floor (the least a Nest app does), the large upload's speed with raw-stream, the scale
// figures with the same figures on a store of 1,000 uploads.
import { ms, num, ratio } from './report-format.mjs';
import { formatSize } from './stats.mjs';

const MiB = 1024 ** 2;
const NEST = 'nest-floor';
const count = (n) => n.toLocaleString('en-US');
const signed = (n, digits = 0) => `${n >= 0 ? '+' : ''}${num(n, digits)}`;
const finite = (...xs) => xs.every((x) => typeof x === 'number' && Number.isFinite(x));

/**
 * @param v the report view (report-view.mjs)
 * @returns rows of [target, goal, figure, ratio, result]
 */
export function targetRows(v) {
  const { config } = v;
  const rows = [];
  const RAW = 'raw-stream';

  /**
   * One row. `subject` is the server whose figure is judged, `ref` the baseline it needs (if any);
   * `fn` returns { figure, ratio, met } with `met` undefined when the figures are missing.
   */
  const judge = (name, goal, { group, subject, ref, ok = true, why }, fn) => {
    const out = (figure, r, result) => rows.push([name, goal, figure, r, result]);
    if (!v.ran(group)) return out('—', '—', 'not measured (skipped)');
    if (subject && !v.measured(subject)) return out('—', '—', 'not measured');
    if (subject && v.flagged(subject)) return out('—', '—', 'not ranked: data check failed');
    if (ref && !v.rankable(ref)) return out('—', '—', `n/a: ${ref} not measured or flagged`);
    if (!ok) return out('—', '—', why);
    const { figure, ratio: r, met } = fn();
    out(figure ?? '—', r ?? '—', met === undefined ? 'no data' : met ? 'met' : '**missed**');
  };

  // Many uploads, at the target figures: req/s, p99 and server CPU per upload against nest-floor.
  const services = [
    ['service', 'fsync', 0.9],
    ['service-none', 'none', 1.0],
  ];
  for (const { size, concurrency: c } of config.durabilityFigures ?? []) {
    const fig = `${formatSize(size)} c=${c}`;
    const ref = v.many(NEST, size, c);
    for (const [key, durability, goal] of services) {
      judge(
        `${fig} req/s, DURABILITY=${durability}`,
        `≥ ${goal.toFixed(2)}× nest-floor`,
        { group: 'many', subject: key, ref: NEST },
        () => {
          const a = v.many(key, size, c).rps;
          const r = v.manyRatio(key, NEST, size, c, 'rps');
          return { figure: `${num(a, 0)} vs ${num(ref.rps, 0)} req/s`, ratio: ratio(r), met: finite(r) ? r >= goal : undefined };
        },
      );
    }
    for (const [key, durability] of services) {
      judge(`${fig} p99 latency, DURABILITY=${durability}`, '≤ 1.50× nest-floor', { group: 'many', subject: key, ref: NEST }, () => {
        const a = v.many(key, size, c).p99;
        const r = v.manyRatio(key, NEST, size, c, 'p99');
        return { figure: `${ms(a)} vs ${ms(ref.p99)} ms`, ratio: ratio(r), met: finite(r) ? r <= 1.5 : undefined };
      });
    }
    for (const [key, durability] of services) {
      judge(
        `${fig} server CPU per upload, DURABILITY=${durability}`,
        '≤ 1.20× nest-floor',
        { group: 'many', subject: key, ref: NEST },
        () => {
          const a = v.many(key, size, c).cpuPerUploadMs;
          const r = v.manyRatio(key, NEST, size, c, 'cpuPerUploadMs');
          return { figure: `${num(a, 3)} vs ${num(ref.cpuPerUploadMs, 3)} ms`, ratio: ratio(r), met: finite(r) ? r <= 1.2 : undefined };
        },
      );
    }
  }

  // The large upload.
  const large = formatSize(config.largeSize);
  judge(`${large} upload MB/s, DURABILITY=fsync`, '≥ 1.00× raw-stream', { group: 'large', subject: 'service', ref: RAW }, () => {
    const a = v.large.service.mbps;
    const b = v.large[RAW].mbps;
    return { figure: `${num(a, 0)} vs ${num(b, 0)} MB/s`, ratio: ratio(a / b), met: finite(a, b) ? a / b >= 1 : undefined };
  });
  judge(`${large} upload: RSS growth during the upload and its storage`, '≤ 32 MiB', { group: 'large', subject: 'service' }, () => {
    const { peakRss, startRss } = v.large.service;
    const growth = v.large.service.growth / MiB;
    return {
      figure: `${signed(growth)} MiB (${num(startRss / MiB, 0)} → ${num(peakRss / MiB, 0)} MiB)`,
      ratio: `${ratio(growth / 32)} goal`,
      met: finite(growth) ? growth <= 32 : undefined,
    };
  });
  judge('Idle RSS after the warm-up', '≤ nest-floor + 32 MiB', { group: 'large', subject: 'service', ref: NEST }, () => {
    const a = v.idle.service.rss;
    const b = v.idle[NEST].rss;
    return {
      figure: `${num(a / MiB, 0)} vs ${num(b / MiB, 0)} MiB (${signed((a - b) / MiB)} MiB)`,
      ratio: ratio(a / b),
      met: finite(a, b) ? (a - b) / MiB <= 32 : undefined,
    };
  });

  // Scale: the same figure with a big store and with 1,000 uploads, and start-up against its limit.
  const { base, big } = v.scale;
  const scaleOk = Boolean(base?.ok && big?.ok);
  const scaleWhy = v.scale.error
    ? `not measured: ${v.scale.error.split('\n')[0].slice(0, 120)}`
    : base || big
      ? 'not ranked: see the scale section'
      : 'not measured';
  const versus = big && base ? `${count(big.records)} vs ${count(base.records)} stored` : 'big vs 1,000 stored';
  const scaleRow = (name, goal, fn) => judge(name, goal, { group: 'scale', ok: scaleOk, why: scaleWhy }, fn);
  const within = (field, unit, show) => () => {
    const a = big.m[field];
    const b = base.m[field];
    return { figure: `${show(a)} vs ${show(b)} ${unit}`, ratio: ratio(a / b), met: finite(a, b) ? a / b <= 1.2 : undefined };
  };
  scaleRow(`GET /uploads?limit=${config.scale?.listLimit ?? 50} p99, ${versus}`, '≤ 1.20× the 1,000 figure', within('listP99', 'ms', ms));
  scaleRow(`GET /uploads/{id} p99, ${versus}`, '≤ 1.20× the 1,000 figure', within('getP99', 'ms', ms));
  scaleRow(
    `Upload req/s (${formatSize(config.scale?.upload.size ?? 65536)} c=${config.scale?.upload.concurrency ?? 32}, fsync), ${versus}`,
    '≥ 0.83× the 1,000 figure (within 1.2×)',
    () => {
      const a = big.m.uploadRps;
      const b = base.m.uploadRps;
      return { figure: `${num(a, 0)} vs ${num(b, 0)} req/s`, ratio: ratio(a / b), met: finite(a, b) ? b / a <= 1.2 : undefined };
    },
  );
  scaleRow(
    `Start-up to a served /health, ${big ? count(big.records) : 'big store'} stored`,
    `≤ ${num((config.scale?.startupGoalMs ?? 2000) / 1000, 0)} s`,
    () => {
      const a = big.m.startupMs;
      const goal = config.scale?.startupGoalMs ?? 2000;
      return {
        figure: `${num(a / 1000, 2)} s (1,000: ${num(base.m.startupMs / 1000, 2)} s)`,
        ratio: `${ratio(a / goal)} goal`,
        met: finite(a) ? a <= goal : undefined,
      };
    },
  );
  scaleRow(
    `Reconciliation sweep memory (peak anonymous RSS), ${versus}`,
    '≤ 1.20× the 1,000 figure',
    within('sweepPeakAnon', 'MiB', (x) => num(x / MiB, 0)),
  );

  // 202 → stored (issue 9), unchanged.
  const st = v.stored('service');
  const sf = `${formatSize(config.stored.size)}, c=${config.stored.concurrency}, fsync`;
  for (const [p, limit] of [
    ['p50', 5],
    ['p99', 50],
  ]) {
    judge(`202 → stored ${p} (${sf})`, `≤ ${limit} ms`, { group: 'stored', subject: 'service' }, () => ({
      figure: `${ms(st[p])} ms`,
      ratio: `${ratio(st[p] / limit)} goal`,
      met: finite(st[p]) ? st[p] <= limit : undefined,
    }));
  }

  // Resumable uploads: 1 GiB in 8 MiB PATCHes against one POST, same process, same run (bench/tus.mjs).
  judge(`${formatSize(config.largeSize)} through tus in 8 MiB PATCHes, fsync`, '≥ 0.80× one POST', { group: 'tus' }, () => {
    const t = v.tus;
    if (!t) return {};
    return {
      figure: `${num(t.tus.mbps, 0)} MB/s (POST ${num(t.post.mbps, 0)} MB/s; growth ${num(t.tus.growth / MiB, 0)} MiB)`,
      ratio: ratio(t.ratio),
      met: finite(t.ratio) ? t.ratio >= 0.8 : undefined,
    };
  });
  // Object storage: one large upload stored to S3 (moto), memory bounded by the part budget.
  judge(
    `${formatSize(config.largeSize)} stored to S3: RSS growth while storing`,
    '≤ part size × parts in flight + 32 MiB',
    { group: 's3' },
    () => {
      const r = v.s3?.result;
      if (!r) return {};
      return {
        figure: `${num(r.rssGrowth / MiB, 0)} MiB (${num(r.mbps, 0)} MB/s 202 → stored)`,
        ratio: `${ratio(r.rssGrowth / r.target)} goal`,
        met: finite(r.rssGrowth, r.target) ? r.rssGrowth <= r.target : undefined,
      };
    },
  );
  return rows;
}

/**
 * The fsync rows in context: nest-floor (fsync) is nest-floor with an fsync of each file and of its
 * directory before its 202, the least a Nest app adds so that a 202 means "on disk". One sentence
 * per target figure where both it and the service were measured, or undefined when none was.
 * @param v the report view (report-view.mjs)
 */
export function durableFloorNote(v) {
  const FLOOR = 'nest-floor-fsync';
  if (!v.ran('many') || !v.rankable(FLOOR) || !v.rankable(NEST)) return undefined;
  const parts = [];
  for (const { size, concurrency: c } of v.config.durabilityFigures ?? []) {
    const floor = v.many(FLOOR, size, c);
    if (!floor.runs) continue;
    const part = [
      `at ${formatSize(size)} c=${c} it made ${num(floor.rps, 0)} req/s, ${ratio(v.manyRatio(FLOOR, NEST, size, c, 'rps'))} nest-floor's`,
      `at ${ratio(v.manyRatio(FLOOR, NEST, size, c, 'cpuPerUploadMs'))} its CPU per upload`,
    ].join(' ');
    const service = v.rankable('service') && v.many('service', size, c).runs > 0;
    parts.push(
      service
        ? `${part}; the service with DURABILITY=fsync made ${ratio(v.manyRatio('service', FLOOR, size, c, 'rps'))} its req/s at ${ratio(v.manyRatio('service', FLOOR, size, c, 'cpuPerUploadMs'))} its CPU per upload`
        : part,
    );
  }
  if (!parts.length) return undefined;
  return `What the fsync alone costs: nest-floor (fsync), the same app with an fsync of each file and of its directory before the 202 (the least that makes a 202 mean "on disk"), measured in the same runs: ${parts.join('; ')}. Ratios are run by run, as above.`;
}
