// Tests of the report (bench/lib/report*.mjs): targets, ratios, sections. `node --test bench/test/`.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FIGURES } from '../lib/options.mjs';
import { renderMarkdown } from '../lib/report.mjs';

const MiB = 2 ** 20;
const base = (over = {}) => ({
  label: 'x',
  kind: 'baseline',
  status: 'ok',
  env: {},
  integrity: { acked: 1, files: 1, bytes: 1, expectedBytes: 1, lost: 0, wrong: 0, issues: [], notes: [] },
  figures: {},
  ...over,
});
const many = (rps, p99, cpuPerUploadMs, loadCpu = 0.05) => [
  { rps, p50: p99 / 2, p99, cpuPerUploadMs, mainCpuPerUploadMs: cpuPerUploadMs * 0.75, serverCpu: 0.9, loadCpu, non2xx: 0, errors: 0 },
];
const scaleRun = (over = {}) => ({
  startupMs: 900,
  sweepMs: 1000,
  sweepPeakRss: 150 * MiB,
  sweepPeakAnon: 80 * MiB,
  sweepPeakFile: 70 * MiB,
  list: { p99: 5, rps: 900, loadCpu: 0.03 },
  get: { p99: 2, rps: 3000, loadCpu: 0.04 },
  upload: { rps: 500, p99: 90, cpuPerUploadMs: 1.5, loadCpu: 0.05 },
  periodic: { cpuPerSweepMs: 30, checked: 1000 },
  ...over,
});
const scaleSet = (records, runs) => ({
  records,
  label: `service, ${records} stored`,
  seed: { records, seconds: 40 },
  figures: { scale: runs },
  integrity: { acked: 10, files: 10, bytes: 10, expectedBytes: 10, lost: 0, wrong: 0, issues: [], notes: [] },
});

const results = (serviceOver = {}) => ({
  machine: {
    date: 'd',
    cores: 2,
    cpuModel: 'cpu',
    memoryBytes: 2 ** 34,
    node: 'v20',
    os: 'linux',
    storageFs: 'ext4',
    loadStart: [0, 0, 0],
    loadEnd: [1, 1, 1],
  },
  config: {
    quick: false,
    runs: 3,
    durationS: 10,
    largeSize: 1024 ** 3,
    largeIsReduced: false,
    sizes: [4096, 65536],
    concurrencies: [32],
    durabilityFigures: [
      { size: 4096, concurrency: 32 },
      { size: 65536, concurrency: 32 },
    ],
    stored: { size: 65536, concurrency: 2, pollMs: 1 },
    scale: {
      records: 1_000_000,
      baseRecords: 1000,
      seedFileSize: 1024,
      listLimit: 50,
      getIds: 10_000,
      readConnections: 8,
      upload: { size: 65536, concurrency: 32 },
      startupGoalMs: 2000,
      periodic: { intervalMs: 5000, periods: 3 },
    },
  },
  servers: {
    'raw-stream': base({
      label: 'raw-stream',
      figures: {
        large: [{ mbps: 1000, peakRss: 100 * MiB, startRss: 90 * MiB }],
        idle: [{ rss: 60 * MiB, anon: 20 * MiB, file: 40 * MiB }],
        'many:4096:32': many(3000, 8, 0.3),
        'many:65536:32': many(2000, 10, 0.5),
      },
    }),
    'nest-floor': base({
      label: 'nest-floor',
      figures: {
        large: [{ mbps: 700, peakRss: 120 * MiB, startRss: 100 * MiB }],
        idle: [{ rss: 100 * MiB, anon: 50 * MiB, file: 50 * MiB }],
        'many:4096:32': many(1000, 20, 1.0),
        'many:65536:32': many(1000, 10, 1.0),
      },
    }),
    service: base({
      label: 'service (fsync)',
      kind: 'service',
      env: { DURABILITY: 'fsync' },
      figures: {
        large: [{ mbps: 1050, peakRss: 150 * MiB, startRss: 130 * MiB }],
        idle: [{ rss: 140 * MiB, anon: 80 * MiB, file: 60 * MiB }],
        'many:4096:32': many(950, 25, 1.1, 0.2),
        'many:65536:32': many(850, 14, 1.3),
        stored: [{ p50: 3, p99: 60, observedP50: 4, observedP99: 70, samples: 10 }],
      },
      ...serviceOver,
    }),
    'service-none': base({
      label: 'service (none)',
      kind: 'service',
      env: { DURABILITY: 'none' },
      figures: { 'many:4096:32': many(1000, 35, 1.2), 'many:65536:32': many(990, 16, 1.1) },
    }),
  },
  scale: {
    sets: [
      scaleSet(1000, [scaleRun(), scaleRun()]),
      scaleSet(1_000_000, [
        scaleRun({
          startupMs: 1500,
          sweepPeakAnon: 90 * MiB,
          list: { p99: 5.5, rps: 800 },
          get: { p99: 3, rps: 2500 },
          upload: { rps: 410, p99: 95, cpuPerUploadMs: 1.6 },
          periodic: { cpuPerSweepMs: 600, checked: 20_000 },
        }),
        scaleRun({
          startupMs: 2500,
          sweepPeakAnon: 100 * MiB,
          list: { p99: 6.5, rps: 700 },
          get: { p99: 2.6, rps: 2600 },
          upload: { rps: 420, p99: 99, cpuPerUploadMs: 1.7 },
          periodic: { cpuPerSweepMs: 640, checked: 20_000 },
        }),
      ]),
    ],
  },
  problems: [],
  elapsedS: 1,
});

const rowOf = (md, text) => md.split('\n').find((l) => l.startsWith(`| ${text}`));

describe('report: targets', () => {
  it('judges the service per upload against nest-floor: req/s, p99, CPU per upload, both durability modes', () => {
    const md = renderMarkdown(results());
    assert.match(rowOf(md, '4 KiB c=32 req/s, DURABILITY=fsync'), /\| ≥ 0\.90× nest-floor \| 950 vs 1000 req\/s \| 0\.95× \| met \|$/);
    assert.match(rowOf(md, '4 KiB c=32 req/s, DURABILITY=none'), /\| 1000 vs 1000 req\/s \| 1\.00× \| met \|$/);
    assert.match(rowOf(md, '64 KiB c=32 req/s, DURABILITY=fsync'), /\| 850 vs 1000 req\/s \| 0\.85× \| \*\*missed\*\* \|$/);
    assert.match(rowOf(md, '64 KiB c=32 req/s, DURABILITY=none'), /0\.99× \| \*\*missed\*\* \|$/);
    assert.match(
      rowOf(md, '4 KiB c=32 p99 latency, DURABILITY=none'),
      /\| ≤ 1\.50× nest-floor \| 35\.0 vs 20\.0 ms \| 1\.75× \| \*\*missed\*\* \|$/,
    );
    assert.match(rowOf(md, '64 KiB c=32 p99 latency, DURABILITY=fsync'), /1\.40× \| met \|$/);
    assert.match(
      rowOf(md, '4 KiB c=32 server CPU per upload, DURABILITY=fsync'),
      /\| ≤ 1\.20× nest-floor \| 1\.100 vs 1\.000 ms \| 1\.10× \| met \|$/,
    );
    assert.match(rowOf(md, '64 KiB c=32 server CPU per upload, DURABILITY=fsync'), /1\.30× \| \*\*missed\*\* \|$/);
  });

  it('judges the large upload against raw-stream and its memory against 32 MiB and nest-floor', () => {
    const md = renderMarkdown(results());
    assert.match(rowOf(md, '1 GiB upload MB/s, DURABILITY=fsync'), /\| ≥ 1\.00× raw-stream \| 1050 vs 1000 MB\/s \| 1\.05× \| met \|$/);
    assert.match(rowOf(md, '1 GiB upload: RSS growth'), /\| ≤ 32 MiB \| \+20 MiB \(130 → 150 MiB\) \| 0\.63× goal \| met \|$/);
    assert.match(rowOf(md, 'Idle RSS after the warm-up'), /\| 140 vs 100 MiB \(\+40 MiB\) \| 1\.40× \| \*\*missed\*\* \|$/);
  });

  it('judges the scale figures against the same figures with 1,000 uploads, medians over runs', () => {
    const md = renderMarkdown(results());
    assert.match(rowOf(md, 'GET /uploads?limit=50 p99, 1,000,000 vs 1,000 stored'), /\| 6\.00 vs 5\.00 ms \| 1\.20× \| met \|$/);
    assert.match(rowOf(md, 'GET /uploads/{id} p99'), /\| 2\.80 vs 2\.00 ms \| 1\.40× \| \*\*missed\*\* \|$/);
    assert.match(rowOf(md, 'Upload req/s'), /\| 415 vs 500 req\/s \| 0\.83× \| \*\*missed\*\* \|$/); // 500 / 415 = 1.205
    assert.match(
      rowOf(md, 'Start-up to a served /health, 1,000,000 stored'),
      /\| ≤ 2 s \| 2\.00 s \(1,000: 0\.90 s\) \| 1\.00× goal \| met \|$/,
    );
    assert.match(rowOf(md, 'Reconciliation sweep memory'), /\| 95 vs 80 MiB \| 1\.19× \| met \|$/);
    assert.match(md, /\| Peak RSS while the sweep runs \(MiB\) \| 150 \| 150 \| 1\.00× \|/);
    // A periodic sweep checks a batch, not the store: its cost per check is what is compared.
    assert.match(md, /\| Periodic sweep: stored uploads it checks \| 1,?000 \| 20,?000 \| — \|/);
    assert.match(md, /\| Periodic sweep: server CPU per sweep \(ms\) \| 30 \| 620 \| — \|/);
    assert.match(md, /\| Periodic sweep: server CPU per stored upload checked \(µs\) \| 30\.0 \| 31\.0 \| 1\.03× \|/);
    assert.match(
      md,
      /`RECONCILE_INTERVAL_MS=5000`; once the start-up sweep is done, its CPU .* over the next 3 periods and divided by the sweeps that ended in them/,
    );
  });

  it("takes the large upload's growth run by run, then the median", () => {
    const r = results();
    r.servers.service.figures.large = [
      { mbps: 1, peakRss: 150 * MiB, startRss: 140 * MiB },
      { mbps: 1, peakRss: 200 * MiB, startRss: 130 * MiB },
      { mbps: 1, peakRss: 170 * MiB, startRss: 100 * MiB },
    ];
    assert.match(
      rowOf(renderMarkdown(r), '1 GiB upload: RSS growth'),
      /\| \+70 MiB \(130 → 170 MiB\) \| 2\.19× goal \| \*\*missed\*\* \|$/,
    );
  });

  it('takes per-upload ratios to nest-floor run by run, then the median: drift between runs cancels out', () => {
    const r = results();
    const run = (n, rps, p99, cpuPerUploadMs) => ({ ...many(rps, p99, cpuPerUploadMs)[0], run: n });
    // Run 2 found the machine at half speed for both servers; run 3 of nest-floor failed.
    r.servers['nest-floor'].figures['many:65536:32'] = [run(1, 2000, 10, 0.5), run(2, 1000, 20, 1.0)];
    r.servers.service.figures['many:65536:32'] = [run(1, 1900, 12, 0.55), run(2, 950, 24, 1.1), run(3, 400, 50, 2.0)];
    const md = renderMarkdown(r);
    // Medians 950 vs 1500 would say 0.63×; each run says 0.95×.
    assert.match(rowOf(md, '64 KiB c=32 req/s, DURABILITY=fsync'), /\| 950 vs 1500 req\/s \| 0\.95× \| met \|$/);
    assert.match(rowOf(md, '64 KiB c=32 p99 latency, DURABILITY=fsync'), /\| 1\.20× \| met \|$/);
    assert.match(rowOf(md, '64 KiB c=32 server CPU per upload, DURABILITY=fsync'), /\| 1\.100 vs 0\.750 ms \| 1\.10× \| met \|$/);
    assert.match(md, /\| 64 KiB \| 32 \| service \(fsync\) \| 950 \(400–1900\) \| 0\.95× \|/);
  });

  it('puts the fsync rows in context with nest-floor (fsync), measured at the target figures only', () => {
    const r = results();
    // Without it (results saved before it existed), no sentence.
    assert.doesNotMatch(renderMarkdown(r), /What the fsync alone costs/);
    r.servers['nest-floor-fsync'] = base({
      label: 'nest-floor (fsync)',
      env: { FLOOR_DURABILITY: 'fsync' },
      figures: {
        idle: [{ rss: 100 * MiB, anon: 50 * MiB, file: 50 * MiB }],
        'many:4096:32': many(700, 30, 1.5),
        'many:65536:32': many(600, 15, 2.0),
      },
    });
    const md = renderMarkdown(r);
    assert.match(
      md,
      /at 4 KiB c=32 it made 700 req\/s, 0\.70× nest-floor's at 1\.50× its CPU per upload; the service with DURABILITY=fsync made 1\.36× its req\/s at 0\.73× its CPU per upload; at 64 KiB c=32 it made 600 req\/s, 0\.60× nest-floor's at 2\.00× its CPU per upload; the service with DURABILITY=fsync made 1\.42× its req\/s at 0\.65× its CPU per upload\./,
    );
    // A row in the many-uploads table and in the data check; none in the large-upload and idle tables
    // (it is nest-floor's program).
    assert.match(rowOf(md, '4 KiB | 32 | nest-floor (fsync)'), /\| 700 \| 0\.70× \|/);
    const own = md.split('\n').filter((l) => l.startsWith('| nest-floor (fsync) |'));
    assert.deepEqual(own, ['| nest-floor (fsync) | 1 | 1 | 1 | 1 | ok |']);
    // The targets still compare with nest-floor.
    assert.match(rowOf(md, '4 KiB c=32 req/s, DURABILITY=fsync'), /\| 950 vs 1000 req\/s \| 0\.95× \| met \|$/);
  });

  it('keeps the 202 → stored goals', () => {
    const md = renderMarkdown(results());
    assert.match(rowOf(md, '202 → stored p50'), /\| 3\.00 ms \| 0\.60× goal \| met \|$/);
    assert.match(rowOf(md, '202 → stored p99'), /\| 60\.0 ms \| 1\.20× goal \| \*\*missed\*\* \|$/);
  });

  it('does not rank a server that lost data, nor judge against a flagged baseline', () => {
    const md = renderMarkdown(
      results({
        integrity: {
          acked: 5,
          files: 4,
          bytes: 4,
          expectedBytes: 5,
          lost: 1,
          wrong: 0,
          issues: ['1 of 5 acknowledged uploads missing'],
          notes: [],
        },
      }),
    );
    assert.match(rowOf(md, '1 GiB upload MB/s'), /not ranked: data check failed \|$/);
    assert.match(md, /FLAGGED, not ranked\*\*: 1 of 5 acknowledged/);
    assert.match(rowOf(md, '64 KiB | 32 | service (fsync)'), /\| flagged \|/);
    const r = results();
    r.servers['nest-floor'].integrity.issues.push('lost one');
    assert.match(rowOf(renderMarkdown(r), '4 KiB c=32 req/s, DURABILITY=none'), /n\/a: nest-floor not measured or flagged \|$/);
  });

  it('says why scale targets are not judged when the scale figures failed or lost data', () => {
    const failed = results();
    failed.scale = { error: 'seeding 1000000 uploads failed (1):\nboom' };
    assert.match(rowOf(renderMarkdown(failed), 'Start-up to a served /health'), /not measured: seeding 1000000 uploads failed \(1\): \|$/);
    const lost = results();
    lost.scale.sets[1].integrity.issues.push('2 of 9 acknowledged uploads missing');
    const md = renderMarkdown(lost);
    assert.match(rowOf(md, 'GET /uploads/{id} p99'), /not ranked: see the scale section \|$/);
    assert.match(md, /\| service, 1000000 stored \| 10 \| 10 \| 10 \| 10 \| \*\*FLAGGED\*\*: 2 of 9/);
  });
});

describe('report: sections', () => {
  it("shows CPU per upload (and the main thread's part), server and wrk CPU in the many-uploads table, with ratios to nest-floor", () => {
    const md = renderMarkdown(results());
    assert.match(
      rowOf(md, '4 KiB | 32 | service (fsync)'),
      /^\| 4 KiB \| 32 \| service \(fsync\) \| 950 \| 0\.95× \| 12\.5 \| 25\.0 \| 1\.25× \| 1\.100 \| 1\.10× \| 0\.825 \| 90 \| 20 \| 0 \| 0 \|$/,
    );
    // Results saved before the main thread was measured still render.
    const old = results();
    for (const runs of Object.values(old.servers.service.figures)) for (const r of runs) delete r.mainCpuPerUploadMs;
    assert.match(rowOf(renderMarkdown(old), '4 KiB | 32 | service (fsync)'), /\| 1\.10× \| — \| 90 \|/);
    assert.match(rowOf(md, '4 KiB | 32 | nest-floor'), /\| 1\.00× \|.*\| 1\.00× \|.*\| 1\.00× \|/);
    assert.match(md, /wrk's own reached 20% at most in this run/);
  });

  it("shows idle memory and the large upload's growth", () => {
    const md = renderMarkdown(results());
    assert.match(rowOf(md, 'service (fsync) | 140'), /^\| service \(fsync\) \| 140 \| \+40 \| 80 \| 60 \| — \| — \| — \|$/);
    assert.match(rowOf(md, 'Idle RSS after the warm-up'), /\| 140 vs 100 MiB \(\+40 MiB\) \| 1\.40× \| \*\*missed\*\* \|$/);
    assert.doesNotMatch(md, /Idle RSS 45 s after/);
  });

  it('shows the idle reading taken later beside the first, judged on its own row', () => {
    const r = results();
    r.config.idleLaterS = 45;
    r.servers['nest-floor'].figures.idleLater = [{ rss: 80 * MiB, anon: 30 * MiB, file: 50 * MiB }];
    r.servers.service.figures.idleLater = [{ rss: 105 * MiB, anon: 45 * MiB, file: 60 * MiB }];
    const md = renderMarkdown(r);
    assert.match(rowOf(md, 'service (fsync) | 140'), /^\| service \(fsync\) \| 140 \| \+40 \| 80 \| 60 \| 105 \| \+25 \| 45 \|$/);
    assert.match(rowOf(md, 'nest-floor | 100'), /^\| nest-floor \| 100 \| 0 \| 50 \| 50 \| 80 \| 0 \| 30 \|$/);
    // The first reading stays the target; the later one is shown, not judged.
    assert.match(rowOf(md, 'Idle RSS after the warm-up'), /\*\*missed\*\* \|$/);
    assert.doesNotMatch(md, /\| Idle RSS 45 s/);
    assert.match(rowOf(md, 'service (fsync) | 1050'), /^\| service \(fsync\) \| 1050 \| 1\.05× \| 130 \| 150 \| \+20 \|$/);
  });

  it('shows tus against one POST, as a section and a target row', () => {
    const r = results();
    const run = (mbps) => ({ mbps, peakRss: 200 * MiB, growth: 10 * MiB });
    r.tus = { post: run(400), tus: run(300), ratio: 0.75, size: 1024 * MiB, chunk: 8 * MiB, runs: 3, durability: 'fsync' };
    const md = renderMarkdown(r);
    assert.match(md, /## Resumable \(tus\) against one POST, 1 GiB/);
    assert.match(rowOf(md, 'tus, 8 MiB PATCHes'), /^\| tus, 8 MiB PATCHes \| 300 \| 0\.75 \| 200 \| 10 \|$/);
    assert.match(rowOf(md, '1 GiB through tus'), /\| 0\.75× \| \*\*missed\*\* \|$/);
  });

  it('says so when a quick run used a smaller large file and store', () => {
    const r = results();
    Object.assign(r.config, { quick: true, runs: 1, durationS: 1, largeSize: 64 * MiB, largeIsReduced: true });
    r.config.scale.records = 20_000;
    const md = renderMarkdown(r);
    assert.match(md, /Quick run \(smoke test\).*64 MiB "large" file instead of 1 GiB and 20,000 stored uploads/);
    assert.match(md, /## One large upload \(64 MiB\)/);
  });

  it('reads the same with every figure group listed as with none (results saved before --figures)', () => {
    const r = results();
    r.config.figures = [...FIGURES];
    assert.equal(renderMarkdown(r), renderMarkdown(results()));
  });

  it('says which groups a partial run skipped and marks them not measured', () => {
    const r = results();
    r.config.figures = ['many'];
    delete r.scale;
    for (const s of Object.values(r.servers)) s.figures = { 'many:65536:32': s.figures['many:65536:32'] };
    const md = renderMarkdown(r);
    assert.match(md, /Partial run\*\* \(`--figures many`\): skipped large, stored, scale, scale-out, tus, s3\./);
    assert.match(rowOf(md, '1 GiB upload MB/s'), /\| not measured \(skipped\) \|$/);
    assert.match(rowOf(md, '202 → stored p50'), /\| not measured \(skipped\) \|$/);
    assert.match(rowOf(md, 'Start-up to a served /health'), /\| not measured \(skipped\) \|$/);
    assert.match(rowOf(md, '64 KiB c=32 req/s, DURABILITY=fsync'), /0\.85× \| \*\*missed\*\* \|$/);
    for (const heading of [
      '## One large upload (1 GiB) and idle memory',
      '## Service: 202 → stored (64 KiB, 2 clients)',
      '## Scale: the service with 1,000,000 stored uploads vs 1,000',
      '## Scale-out: 1 vs 2 storage workers (BullMQ on Redis)',
    ]) {
      assert.ok(md.includes(`${heading}\n\n_Not measured: skipped by \`--figures\``), heading);
    }
    assert.match(md, /## Many uploads\n\n\| File/);
  });

  it("shows the disk's fsync rate when it was probed, and reads the fsync targets against it", () => {
    const probed = results();
    Object.assign(probed.machine, { fsyncStart: 1512.4, fsyncEnd: 1388.9 });
    const md = renderMarkdown(probed);
    assert.match(md, /\| Disk, 4 KiB files written and fsynced per second \(4 at a time\), start → end \| 1512 → 1389 \|/);
    assert.match(md, /this disk made durable per second \(1512 at the start\)/);
    const unprobed = renderMarkdown(results());
    assert.ok(!unprobed.includes('fsynced per second'));
    assert.ok(!unprobed.includes('made durable per second'));
  });

  it('shows what creating a file cost the kernel before the tasks, when it was read', () => {
    const probed = results();
    probed.machine.createCosts = [22.4, 880, 31, 405.2];
    assert.match(
      renderMarkdown(probed),
      /\| Kernel CPU to create one file \(µs\), read before each task: median \(lowest–highest\) \| 218 \(22–880\) \|/,
    );
    assert.ok(!renderMarkdown(results()).includes('Kernel CPU to create one file'));
  });

  it('flags a machine busy before the run, not the load the run itself made', () => {
    const r = results(); // load 0 before, 1 after, on 2 cores
    r.machine.loadEnd = [3, 2.5, 2];
    assert.doesNotMatch(renderMarkdown(r), /busy with other work/);
    r.machine.loadStart = [0.2, 1.8, 1];
    assert.match(renderMarkdown(r), /The machine was busy with other work when this run began/);
  });

  it('can carry a note, e.g. that a run was made on a busy machine', () => {
    assert.match(renderMarkdown(results(), { note: 'Development run.' }), /^> \*\*Development run\.\*\*$/m);
  });
});
