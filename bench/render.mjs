#!/usr/bin/env node
// Re-renders a report from the raw results a bench run saved, e.g. after changing the report's
// layout, without measuring again:
//   node bench/render.mjs [results.json] [out.md] [--note TEXT]
// Defaults: bench/.results/full.json → docs/BENCHMARKS.md (a quick or partial run's json → its
// own bench/.results/*.md, as bench/run.mjs writes it). --note puts a line at the top, e.g. to say
// the run was a development run on a busy machine.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultOutputs } from './lib/options.mjs';
import { renderMarkdown } from './lib/report.mjs';

const ROOT = resolve(import.meta.dirname, '..');
const { values, positionals } = parseArgs({ options: { note: { type: 'string' } }, allowPositionals: true });
const input = resolve(positionals[0] ?? resolve(ROOT, 'bench/.results/full.json'));
const results = JSON.parse(readFileSync(input, 'utf8'));
const output = resolve(positionals[1] ?? resolve(ROOT, defaultOutputs(results.config).report));
writeFileSync(output, renderMarkdown(results, { note: values.note }));
console.error(`rendered ${input} → ${output}`);
