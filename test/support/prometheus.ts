/**
 * A strict parser of the Prometheus text exposition format (0.0.4), written for the tests: it
 * throws, naming the line, on anything a Prometheus server would refuse or misread.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  name: string;
  type: MetricType;
  help?: string;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES: readonly MetricType[] = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];
const SUFFIXES: Record<MetricType, readonly string[]> = {
  counter: [''],
  gauge: [''],
  untyped: [''],
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
};

export function parsePrometheusText(text: string): Map<string, MetricFamily> {
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('exposition must end with a newline');
  const families = new Map<string, MetricFamily>();
  const finished = new Set<string>();
  const series = new Set<string>();
  let current: MetricFamily | undefined;

  const family = (name: string, lineNo: number): MetricFamily => {
    if (current?.name === name) return current;
    if (finished.has(name) || families.has(name)) throw new Error(`line ${lineNo}: metric family ${name} is not contiguous`);
    if (current) finished.add(current.name);
    current = { name, type: 'untyped', samples: [] };
    families.set(name, current);
    return current;
  };

  const lines = text.split('\n').slice(0, -1);
  lines.forEach((line, i) => {
    const lineNo = i + 1;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const meta = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
      if (!meta) return; // a plain comment
      const [, keyword, name, rest = ''] = meta;
      if (!METRIC_NAME.test(name)) throw new Error(`line ${lineNo}: bad metric name ${name}`);
      const f = family(name, lineNo);
      if (keyword === 'HELP') {
        if (f.help !== undefined) throw new Error(`line ${lineNo}: second HELP for ${name}`);
        f.help = rest.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
      } else {
        if (!TYPES.includes(rest.trim() as MetricType)) throw new Error(`line ${lineNo}: bad type ${rest}`);
        if (f.samples.length > 0 || f.type !== 'untyped')
          throw new Error(`line ${lineNo}: TYPE for ${name} must come once, before its samples`);
        f.type = rest.trim() as MetricType;
      }
      return;
    }
    const sample = parseSample(line, lineNo);
    const owner = current && SUFFIXES[current.type].some((s) => current!.name + s === sample.name) ? current : family(sample.name, lineNo);
    const key = `${sample.name}{${Object.entries(sample.labels)
      .sort()
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(',')}}`;
    if (series.has(key)) throw new Error(`line ${lineNo}: duplicate series ${key}`);
    series.add(key);
    owner.samples.push(sample);
  });

  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

function parseSample(line: string, lineNo: number): Sample {
  const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
  if (!name) throw new Error(`line ${lineNo}: no metric name in ${JSON.stringify(line)}`);
  let rest = line.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    rest = rest.slice(1);
    while (!rest.startsWith('}')) {
      const m = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,?)/.exec(rest);
      if (!m || !LABEL_NAME.test(m[1])) throw new Error(`line ${lineNo}: bad label set in ${JSON.stringify(line)}`);
      if (m[1] in labels) throw new Error(`line ${lineNo}: label ${m[1]} given twice`);
      labels[m[1]] = m[2].replace(/\\([\\"n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
      rest = rest.slice(m[0].length);
      if (!m[3] && !rest.startsWith('}')) throw new Error(`line ${lineNo}: expected , or } in ${JSON.stringify(line)}`);
    }
    rest = rest.slice(1);
  }
  const m = /^ (\S+)(?: (-?\d+))?$/.exec(rest);
  if (!m) throw new Error(`line ${lineNo}: expected " value [timestamp]" in ${JSON.stringify(line)}`);
  return { name, labels, value: parseValue(m[1], lineNo) };
}

function parseValue(raw: string, lineNo: number): number {
  // Prometheus reads values with Go's ParseFloat, which takes NaN and Inf in any case (prom-client writes "Nan").
  if (/^nan$/i.test(raw)) return Number.NaN;
  if (/^\+?inf$/i.test(raw)) return Number.POSITIVE_INFINITY;
  if (/^-inf$/i.test(raw)) return Number.NEGATIVE_INFINITY;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw)) throw new Error(`line ${lineNo}: bad value ${raw}`);
  return Number(raw);
}

/** Buckets ascend in `le` and count cumulatively, and the +Inf bucket equals `_count`, per label set. */
function checkHistogram(f: MetricFamily): void {
  const groups = new Map<string, { buckets: Array<[number, number]>; count?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const g = groups.get(key) ?? { buckets: [] };
    groups.set(key, g);
    if (s.name === `${f.name}_bucket`) {
      if (le === undefined) throw new Error(`${f.name}: bucket without le`);
      g.buckets.push([parseValue(le, 0), s.value]);
    } else if (s.name === `${f.name}_count`) {
      g.count = s.value;
    }
  }
  for (const g of groups.values()) {
    for (let i = 1; i < g.buckets.length; i += 1) {
      if (!(g.buckets[i][0] > g.buckets[i - 1][0]) || g.buckets[i][1] < g.buckets[i - 1][1])
        throw new Error(`${f.name}: buckets out of order`);
    }
    const inf = g.buckets.at(-1);
    if (!inf || inf[0] !== Number.POSITIVE_INFINITY) throw new Error(`${f.name}: no +Inf bucket`);
    if (inf[1] !== g.count) throw new Error(`${f.name}: +Inf bucket ${inf[1]} differs from _count ${g.count}`);
  }
}

/** The value of the one sample called `name` whose labels include `labels`. */
export function sampleValue(families: Map<string, MetricFamily>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const f of families.values()) {
    const hit = f.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    if (hit) return hit.value;
  }
  return undefined;
}
