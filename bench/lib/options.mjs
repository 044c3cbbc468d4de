// bench/run.mjs's command line → the run's config, the servers to start and where results go.
// Pure (no exits, no I/O) so it can be tested; bad input throws a UsageError.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { SERVICE_ENTRY } from './service-code.mjs';
import { parseSize } from './stats.mjs';

const KiB = 1024;
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

/**
 * The figure groups, in the order they are measured; `--figures` picks a subset. A new group (e.g.
 * resumable uploads) is a name here, its measurement in figures.mjs (per server) or its own module
 * (like scale.mjs), its section in the report and its rows in report-targets.mjs.
 */
export const FIGURES = ['large', 'many', 'stored', 'scale', 'scale-out', 'tus', 's3'];

/** Groups measured only on the service: asking for just these without it measures nothing. */
const SERVICE_ONLY = ['stored', 'scale', 'scale-out', 'tus', 's3'];

export const SERVERS = [
  { key: 'raw-stream', label: 'raw-stream', kind: 'baseline', script: 'bench/baselines/raw-stream.mjs', env: {} },
  { key: 'naive', label: 'naive', kind: 'baseline', script: 'bench/baselines/naive.mjs', env: {} },
  { key: 'nest-floor', label: 'nest-floor', kind: 'baseline', script: 'bench/baselines/nest-floor.mjs', env: {} },
  // A server's companion (`companionOf`) comes along with it in --servers and is measured at the
  // target figures beside it; the targets themselves compare with the plain servers.
  // nest-floor plus an fsync of each file and its directory before the 202, only at the target
  // figures: what that durability alone costs a Nest app, next to what the service's costs.
  {
    key: 'nest-floor-fsync',
    label: 'nest-floor (fsync)',
    kind: 'baseline',
    script: 'bench/baselines/nest-floor.mjs',
    env: { FLOOR_DURABILITY: 'fsync' },
    companionOf: 'nest-floor',
    onlyAtTargetFigures: true,
  },
  { key: 'service', label: 'service (fsync)', kind: 'service', script: SERVICE_ENTRY, env: { DURABILITY: 'fsync' } },
  // Second instance, for the durability comparison (the target figures, the large upload) and 202→stored.
  {
    key: 'service-none',
    label: 'service (none)',
    kind: 'service',
    script: SERVICE_ENTRY,
    env: { DURABILITY: 'none' },
    companionOf: 'service',
  },
];

/** Keys of the companions, in the order they are measured. */
export const COMPANIONS = SERVERS.filter((s) => s.companionOf).map((s) => s.key);

export const USAGE = `Usage: npm run bench -- [options]

  --quick              smoke run: 1 run of 1 s per figure, c=32 only, 64 MiB "large" file,
                       20,000 records for the scale figures (< 2 min in all)
  --runs N             runs per figure; the report shows the median (default 3, quick 1)
  --duration S         whole seconds per load figure (default 10, quick 1)
  --large-size SIZE    size of the single large upload (default 1GiB, quick 64MiB)
  --scale-records N    stored uploads seeded for the scale figures (default 1000000, quick 20000),
                       each figure compared with the same one at 1000
  --servers LIST       comma-separated subset of: raw-stream,naive,nest-floor,service (default all);
                       service brings its DURABILITY=none instance along, nest-floor its fsync variant
  --figures LIST       comma-separated subset of the figure groups (default all):
                         large      one large upload: MB/s and RSS growth; idle RSS after warm-up
                         many       wrk, 4 KiB/64 KiB/1 MiB at c=1 and c=32: req/s, latency, CPU
                                    (DURABILITY=none too at 4 KiB and 64 KiB c=32)
                         stored     the service's 202 → stored latency
                         scale      the service with --scale-records stored uploads vs 1000:
                                    start-up, sweep memory, list/get p99, upload rate
                         scale-out  stored uploads/s with 1 vs 2 BullMQ workers (needs Redis)
                         tus        the large file through tus in 8 MiB PATCHes vs one POST (bench/tus.mjs)
                         s3         the large file stored to S3 (moto_server): MB/s 202 → stored,
                                    RSS growth vs part size × parts in flight (bench/s3-store.mjs)
                       A subset writes a partial report: skipped figures read "not measured".
  --scale              the scale figures only (same as --figures scale)
  --out PATH           where to write the markdown report (default docs/BENCHMARKS.md;
                       quick: bench/.results/quick.md; --figures subset: bench/.results/partial.md)
  --skip-build         use the existing dist/ instead of running npm run build
  --keep               keep the temporary storage directories (their path is printed)
  -h, --help           this text

Load comes from wrk (on PATH; apt-get install wrk). Needs about 25 GiB free in the temp dir for a
full run (3 GiB for --quick); a full run takes about 30-40 minutes on 2 cores, depending on how
much CPU the host gives. \`node bench/render.mjs\` re-renders a report from saved results.

Exits non-zero only when the harness itself cannot do its job (bad options, wrk missing, the
service does not build or start, an internal error); missed targets and data-loss flags are
reported, not fatal.`;

export class UsageError extends Error {
  /** @param {{ showUsage?: boolean }} [options] print the whole USAGE after the message */
  constructor(message, { showUsage = false } = {}) {
    super(message);
    this.name = 'UsageError';
    this.showUsage = showUsage;
  }
}

export const isPartial = (figures) => Array.isArray(figures) && FIGURES.some((f) => !figures.includes(f));

/**
 * Default report and raw-results paths, relative to the repository root. Only a full run with every
 * figure may replace docs/BENCHMARKS.md (and full.json, which `bench/render.mjs` renders into it).
 */
export function defaultOutputs({ quick, figures }) {
  const kind = quick ? 'quick' : isPartial(figures) ? 'partial' : 'full';
  return { report: kind === 'full' ? 'docs/BENCHMARKS.md' : `bench/.results/${kind}.md`, results: `bench/.results/${kind}.json` };
}

const list = (text) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

function wholeNumber(name, text) {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${name} must be a whole number above 0, got ${JSON.stringify(text)}`);
  return n;
}

function size(name, text) {
  try {
    return parseSize(text);
  } catch (err) {
    throw new UsageError(`--${name}: ${err.message}`);
  }
}

function pickServers(text) {
  if (text === undefined) return SERVERS;
  const names = list(text);
  const unknown = names.filter((n) => !['raw-stream', 'naive', 'nest-floor', 'service'].includes(n));
  if (unknown.length || names.length === 0)
    throw new UsageError(`--servers: unknown ${unknown.join(', ') || '(empty list)'}; use raw-stream,naive,nest-floor,service`);
  return SERVERS.filter((s) => names.includes(s.key) || names.includes(s.companionOf));
}

function pickFigures(text) {
  if (text === undefined) return [...FIGURES];
  const names = list(text);
  const unknown = names.filter((n) => !FIGURES.includes(n));
  if (unknown.length || names.length === 0) {
    const what = unknown.length
      ? `unknown figure group${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => JSON.stringify(n)).join(', ')}`
      : 'empty list';
    throw new UsageError(`--figures: ${what}; choose from ${FIGURES.join(', ')}`);
  }
  return FIGURES.filter((f) => names.includes(f)); // measuring order, duplicates dropped
}

/**
 * @param {string[]} argv the arguments after the script name
 * @param {string} root the repository root; relative paths resolve against it
 * @returns {{ help: true } | { help: false, config: object, servers: object[], outPath: string, resultsPath: string, skipBuild: boolean, keep: boolean }}
 */
export function parseOptions(argv, root) {
  let opts;
  try {
    opts = parseArgs({
      args: argv,
      options: {
        quick: { type: 'boolean', default: false },
        runs: { type: 'string' },
        duration: { type: 'string' },
        'large-size': { type: 'string' },
        servers: { type: 'string' },
        figures: { type: 'string' },
        scale: { type: 'boolean', default: false },
        'scale-records': { type: 'string' },
        out: { type: 'string' },
        'skip-build': { type: 'boolean', default: false },
        keep: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }).values;
  } catch (err) {
    throw new UsageError(err.message, { showUsage: true });
  }
  if (opts.help) return { help: true };

  const quick = opts.quick;
  const servers = pickServers(opts.servers);
  if (opts.scale && opts.figures !== undefined) throw new UsageError('--scale is --figures scale: give one or the other');
  const figures = pickFigures(opts.scale ? 'scale' : opts.figures);
  if (!servers.some((s) => s.kind === 'service') && figures.every((f) => SERVICE_ONLY.includes(f))) {
    throw new UsageError(`--figures ${figures.join(',')} measures only the service, which --servers leaves out`);
  }
  const config = {
    quick,
    runs: opts.runs ? wholeNumber('runs', opts.runs) : quick ? 1 : 3,
    // wrk runs whole seconds only.
    durationS: opts.duration ? wholeNumber('duration', opts.duration) : quick ? 1 : 10,
    warmupS: quick ? 1 : 3,
    // Idle memory is read again this long after the last figure's load: V8 gives back the old space
    // the loads left as garbage only when its memory reducer runs (30-70 s after a load here). 0: not read.
    idleLaterS: quick ? 0 : 90,
    largeSize: opts['large-size'] ? size('large-size', opts['large-size']) : quick ? 64 * MiB : 1 * GiB,
    sizes: [4 * KiB, 64 * KiB, 1 * MiB],
    // Quick is a smoke test of the harness: c=1 runs the same code as c=32, so it is left out there.
    concurrencies: quick ? [32] : [1, 32],
    // The target figures: DURABILITY=none is measured at these too; targets compare with nest-floor.
    durabilityFigures: [
      { size: 4 * KiB, concurrency: 32 },
      { size: 64 * KiB, concurrency: 32 },
    ],
    stored: { size: 64 * KiB, concurrency: 2, pollMs: 1 },
    scale: {
      records: opts['scale-records'] ? wholeNumber('scale-records', opts['scale-records']) : quick ? 20_000 : 1_000_000,
      baseRecords: 1000,
      seedFileSize: 1 * KiB, // every seeded upload has its file, of this size (hard links of a few files)
      listLimit: 50,
      getIds: 10_000, // the ids GET /uploads/{id} cycles through, spread over all seeded records
      readConnections: 8,
      upload: { size: 64 * KiB, concurrency: 32 },
      startupGoalMs: 2000,
      // Periodic sweeps, measured on their own start: RECONCILE_INTERVAL_MS, and over how many periods.
      periodic: { intervalMs: quick ? 2000 : 5000, periods: quick ? 2 : 3 },
    },
    settleTimeoutMs: quick ? 30_000 : 600_000,
    maxFileSize: 2 * GiB,
    figures,
  };
  if (config.scale.records <= config.scale.baseRecords)
    throw new UsageError(
      `--scale-records must be above ${config.scale.baseRecords} (the figures compare with ${config.scale.baseRecords})`,
    );
  config.largeTimeoutMs = Math.max(60_000, Math.ceil(config.largeSize / (5 * MiB)) * 1000); // ≥ 5 MiB/s or it is broken
  config.largeIsReduced = config.largeSize !== GiB;
  const defaults = defaultOutputs(config);
  return {
    help: false,
    config,
    servers,
    outPath: resolve(root, opts.out ?? defaults.report),
    resultsPath: resolve(root, defaults.results),
    skipBuild: opts['skip-build'],
    keep: opts.keep,
  };
}
