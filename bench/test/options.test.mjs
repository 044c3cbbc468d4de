// Tests of bench/run.mjs's command line and of the plan it leads to: `node --test bench/test/`.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildPlan } from '../lib/figures.mjs';
import { FIGURES, USAGE, UsageError, defaultOutputs, parseOptions } from '../lib/options.mjs';

const ROOT = '/repo';
const parse = (...argv) => parseOptions(argv, ROOT);
const usageError = (message) => (err) => err instanceof UsageError && message.test(err.message);

describe('options: --figures', () => {
  it('measures every group by default', () => {
    assert.deepEqual(parse().config.figures, FIGURES);
    assert.deepEqual(FIGURES, ['large', 'many', 'stored', 'scale', 'scale-out', 'tus', 's3']);
  });

  it('takes a subset in measuring order, spaces and duplicates ignored', () => {
    assert.deepEqual(parse('--figures', 'stored, many,many').config.figures, ['many', 'stored']);
    assert.deepEqual(parse('--figures=scale-out').config.figures, ['scale-out']);
  });

  it('rejects an unknown group by name and lists the valid ones', () => {
    assert.throws(
      () => parse('--figures', 'many,huge'),
      usageError(/^--figures: unknown figure group "huge"; choose from large, many, stored, scale, scale-out, tus, s3$/),
    );
    assert.throws(() => parse('--figures', 'a,b'), usageError(/unknown figure groups "a", "b"/));
  });

  it('rejects an empty list', () => {
    assert.throws(() => parse('--figures', ' , '), usageError(/^--figures: empty list; choose from/));
  });

  it('rejects service-only groups when --servers leaves the service out', () => {
    assert.throws(() => parse('--servers', 'raw-stream', '--figures', 'stored,scale-out'), usageError(/measures only the service/));
    assert.throws(() => parse('--servers', 'nest-floor', '--scale'), usageError(/measures only the service/));
    assert.deepEqual(parse('--servers', 'raw-stream', '--figures', 'stored,many').config.figures, ['many', 'stored']);
  });

  it('is documented in the usage text, group by group', () => {
    assert.match(USAGE, /--figures LIST/);
    for (const group of FIGURES) assert.match(USAGE, new RegExp(`^ +${group} +\\S`, 'm'));
    assert.match(USAGE, /--figures subset: bench\/\.results\/partial\.md/);
  });
});

describe('options: --scale', () => {
  it('is --figures scale, with a million stored uploads (20,000 for --quick) against 1,000', () => {
    const full = parse('--scale');
    assert.deepEqual(full.config.figures, ['scale']);
    assert.equal(full.config.scale.records, 1_000_000);
    assert.equal(full.config.scale.baseRecords, 1000);
    assert.equal(full.outPath, '/repo/bench/.results/partial.md');
    assert.equal(parse('--quick').config.scale.records, 20_000);
    assert.equal(parse('--scale', '--scale-records', '50000').config.scale.records, 50_000);
  });

  it('is part of a full run, and cannot be combined with --figures', () => {
    assert.ok(parse().config.figures.includes('scale'));
    assert.throws(() => parse('--scale', '--figures', 'many'), usageError(/give one or the other/));
  });

  it('needs more records than the 1,000 it compares with', () => {
    assert.throws(() => parse('--scale-records', '1000'), usageError(/must be above 1000/));
    assert.throws(() => parse('--scale-records', '1e3x'), usageError(/whole number/));
  });
});

describe('options: where results go', () => {
  it('a full run with every figure writes docs/BENCHMARKS.md and full.json', () => {
    const o = parse();
    assert.equal(o.outPath, '/repo/docs/BENCHMARKS.md');
    assert.equal(o.resultsPath, '/repo/bench/.results/full.json');
    assert.equal(parse('--figures', FIGURES.join(',')).outPath, '/repo/docs/BENCHMARKS.md');
  });

  it('a quick run writes under bench/.results/, with or without --figures', () => {
    for (const o of [parse('--quick'), parse('--quick', '--figures', 'many')]) {
      assert.equal(o.outPath, '/repo/bench/.results/quick.md');
      assert.equal(o.resultsPath, '/repo/bench/.results/quick.json');
    }
  });

  it('a full run of a subset never replaces docs/BENCHMARKS.md or full.json', () => {
    const o = parse('--figures', 'large,stored');
    assert.equal(o.outPath, '/repo/bench/.results/partial.md');
    assert.equal(o.resultsPath, '/repo/bench/.results/partial.json');
  });

  it('--out wins, resolved against the repository root', () => {
    assert.equal(parse('--figures', 'many', '--out', 'x/report.md').outPath, '/repo/x/report.md');
    assert.equal(parse('--out', '/tmp/r.md').outPath, '/tmp/r.md');
  });

  it('bench/render.mjs picks the same defaults from saved results', () => {
    assert.equal(defaultOutputs({ quick: false }).report, 'docs/BENCHMARKS.md'); // results saved before --figures
    assert.equal(defaultOutputs({ quick: false, figures: ['many'] }).report, 'bench/.results/partial.md');
  });
});

describe('options: the rest', () => {
  it('scales the defaults for --quick', () => {
    const full = parse().config;
    const quick = parse('--quick').config;
    assert.deepEqual([full.runs, full.durationS, full.largeSize], [3, 10, 1024 ** 3]);
    assert.deepEqual([quick.runs, quick.durationS, quick.largeSize, quick.largeIsReduced], [1, 1, 64 * 1024 ** 2, true]);
    assert.deepEqual([full.concurrencies, quick.concurrencies], [[1, 32], [32]]);
  });

  it('turns bad values into usage errors, not crashes', () => {
    assert.throws(() => parse('--runs', 'x'), usageError(/--runs must be a whole number above 0/));
    assert.throws(() => parse('--duration', '0.5'), usageError(/--duration must be a whole number/)); // wrk runs whole seconds
    assert.throws(() => parse('--large-size', 'lots'), usageError(/--large-size: Not a size/));
    assert.throws(() => parse('--servers', 'foo'), usageError(/--servers: unknown foo/));
    assert.throws(
      () => parse('--sizes', '4k'),
      (err) => err instanceof UsageError && err.showUsage && /--sizes/.test(err.message),
    );
  });

  it('--servers service brings the DURABILITY=none instance along', () => {
    assert.deepEqual(
      parse('--servers', 'service').servers.map((s) => s.key),
      ['service', 'service-none'],
    );
  });

  it('--servers nest-floor brings its fsync variant along', () => {
    const servers = parse('--servers', 'nest-floor').servers;
    assert.deepEqual(
      servers.map((s) => s.key),
      ['nest-floor', 'nest-floor-fsync'],
    );
    assert.equal(servers[1].script, servers[0].script);
    assert.deepEqual(servers[1].env, { FLOOR_DURABILITY: 'fsync' });
  });

  it('--help asks for the usage text only', () => {
    assert.deepEqual(parse('-h'), { help: true });
  });
});

describe('plan', () => {
  const keys = ['raw-stream', 'naive', 'nest-floor', 'service', 'service-none', 'nest-floor-fsync'];
  const plan = (...argv) => {
    const { config, servers } = parse('--quick', ...argv);
    return buildPlan(
      config,
      servers.map((s) => s.key),
    );
  };
  const servedBy = (tasks) => [...new Set(tasks.map((t) => t.key))];

  it('runs only the chosen groups, interleaving the servers run by run, every other run in reverse', () => {
    const tasks = plan('--figures', 'large', '--runs', '3');
    assert.deepEqual(
      tasks.map((t) => `${t.run}:${t.key}`),
      [
        '1:raw-stream',
        '1:naive',
        '1:nest-floor',
        '1:service',
        '1:service-none',
        '2:service-none',
        '2:service',
        '2:nest-floor',
        '2:naive',
        '2:raw-stream',
        '3:raw-stream',
        '3:naive',
        '3:nest-floor',
        '3:service',
        '3:service-none',
      ],
    );
    assert.ok(tasks.every((t) => t.group === 'large'));
  });

  it('adds DURABILITY=none and nest-floor (fsync) to the target figures only (4 KiB and 64 KiB at c=32)', () => {
    const { config, servers } = parse('--figures', 'many', '--runs', '1');
    const tasks = buildPlan(
      config,
      servers.map((s) => s.key),
    );
    assert.deepEqual(
      tasks.filter((t) => t.key === 'service-none').map((t) => t.label),
      ['4 KiB c=32', '64 KiB c=32'],
    );
    assert.deepEqual(
      tasks.filter((t) => t.key === 'nest-floor-fsync').map((t) => t.label),
      ['4 KiB c=32', '64 KiB c=32'],
    );
    assert.equal(tasks.length, 3 * 2 * 4 + 2 * 2); // sizes × concurrencies × servers, plus the two variants twice
    assert.equal(plan('--figures', 'many').length, 3 * 1 * 4 + 2 * 2); // quick: c=32 only
  });

  it('needs no baseline for 202 → stored, and no server at all for scale-out alone', () => {
    assert.deepEqual(servedBy(plan('--figures', 'stored')), ['service', 'service-none']);
    assert.deepEqual(plan('--figures', 'scale-out'), []);
    assert.deepEqual(plan('--scale'), []); // the scale figures start services of their own
    assert.deepEqual(servedBy(plan()), keys);
  });
});
