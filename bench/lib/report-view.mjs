// What the report's sections share: medians of each server's figures, and whether a server can be
// ranked (measured, and its data check clean). Ratios are only ever taken between figures of the
// same run.
import { FIGURES } from './options.mjs';
import { medians } from './report-format.mjs';
import { median, pairedRatios, sum } from './stats.mjs';

export const MANY_FIELDS = ['rps', 'p50', 'p99', 'cpuPerUploadMs', 'mainCpuPerUploadMs', 'serverCpu', 'loadCpu'];

/** Flat figures of one start of the service on a seeded store (scale.mjs records them nested). */
const scaleRun = (r) => ({
  startupMs: r.startupMs,
  sweepMs: r.sweepMs,
  sweepPeakRss: r.sweepPeakRss,
  sweepPeakAnon: r.sweepPeakAnon,
  sweepPeakFile: r.sweepPeakFile,
  listP99: r.list?.p99,
  listRps: r.list?.rps,
  getP99: r.get?.p99,
  getRps: r.get?.rps,
  uploadRps: r.upload?.rps,
  uploadP99: r.upload?.p99,
  uploadCpuMs: r.upload?.cpuPerUploadMs,
  loadCpu: Math.max(r.list?.loadCpu ?? 0, r.get?.loadCpu ?? 0, r.upload?.loadCpu ?? 0),
  periodicCpuMs: r.periodic?.cpuPerSweepMs,
  periodicChecked: r.periodic?.checked,
  periodicCpuPerCheckUs: r.periodic?.checked ? (r.periodic.cpuPerSweepMs * 1000) / r.periodic.checked : undefined,
});
export const SCALE_FIELDS = Object.keys(scaleRun({}));

export function reportView(results) {
  const { config, servers } = results;
  const present = (key) => servers[key] && servers[key].status !== undefined;
  const flagged = (key) => !present(key) || servers[key].integrity.issues.length > 0 || !/^(ok|running)$/.test(servers[key].status);
  const measured = (key) => present(key) && Object.keys(servers[key].figures).some((f) => !f.startsWith('idle'));
  const rankable = (key) => measured(key) && !flagged(key);
  // Results saved before `--figures` existed have no list: they measured every group.
  const ran = (group) => !config.figures || config.figures.includes(group);
  const order = ['raw-stream', 'naive', 'nest-floor', 'nest-floor-fsync', 'service', 'service-none'].filter((k) => servers[k]);

  // Growth is taken run by run, then the median: not the difference of two medians.
  const largeRuns = (k) => servers[k].figures.large?.map((r) => ({ ...r, growth: r.peakRss - r.startRss }));
  const large = Object.fromEntries(order.map((k) => [k, medians(largeRuns(k), ['mbps', 'peakRss', 'startRss', 'growth'])]));
  const idle = Object.fromEntries(order.map((k) => [k, medians(servers[k].figures.idle, ['rss', 'anon', 'file'])]));
  const idleLater = Object.fromEntries(order.map((k) => [k, medians(servers[k].figures.idleLater, ['rss', 'anon', 'file'])]));
  const many = (k, size, c) => {
    const runs = servers[k]?.figures[`many:${size}:${c}`];
    return {
      ...medians(runs, MANY_FIELDS),
      non2xx: sum((runs ?? []).map((r) => r.non2xx)),
      errors: sum((runs ?? []).map((r) => r.errors)),
    };
  };
  /**
   * `k`'s many-uploads figure over `ref`'s, run by run (the two were measured back to back in each
   * run), then the median of those ratios: drift of a shared machine between runs cancels out.
   * Results saved before runs were numbered are paired in order.
   */
  const manyRatio = (k, ref, size, c, field) => {
    const byRun = (runs = []) => new Map(runs.map((r, i) => [r.run ?? i + 1, r]));
    const [mine, theirs] = [k, ref].map((key) => byRun(servers[key]?.figures[`many:${size}:${c}`]));
    const runs = [...mine.keys()].filter((run) => theirs.has(run));
    return median(
      pairedRatios(
        runs.map((run) => theirs.get(run)),
        runs.map((run) => mine.get(run)),
        field,
      ),
    );
  };
  const stored = (k) => ({
    ...medians(servers[k]?.figures.stored, ['p50', 'p99', 'observedP50', 'observedP99']),
    samples: sum((servers[k]?.figures.stored ?? []).map((r) => r.samples)),
  });

  // Scale: the base set (1,000) and the large one, each with medians over its runs.
  const scaleSets = (results.scale?.sets ?? []).map((set) => ({
    ...set,
    ok: set.integrity.issues.length === 0 && (set.figures.scale?.length ?? 0) > 0,
    m: medians((set.figures.scale ?? []).map(scaleRun), SCALE_FIELDS),
  }));
  const scale = { base: scaleSets[0], big: scaleSets[1], error: results.scale?.error, sets: scaleSets };

  return {
    config,
    servers,
    order,
    present,
    flagged,
    measured,
    rankable,
    ran,
    skipped: FIGURES.filter((g) => !ran(g)),
    large,
    idle,
    idleLater,
    many,
    manyRatio,
    stored,
    scale,
    tus: results.tus,
    s3: results.s3,
  };
}
