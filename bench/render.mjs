#!/usr/bin/env node
// Re-renders a report from the raw results a bench run saved, e.g. after changing the report's
// layout, without measuring again:
//   node bench/render.mjs [results.json] [out.md]
// Defaults: bench/.results/full.json → docs/BENCHMARKS.md (a quick or partial run's json → its
// own bench/.results/*.md, as bench/run.mjs writes it).
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { defaultOutputs } from './lib/options.mjs';
import { renderMarkdown } from './lib/report.mjs';

const ROOT = resolve(import.meta.dirname, '..');
const input = resolve(process.argv[2] ?? resolve(ROOT, 'bench/.results/full.json'));
const results = JSON.parse(readFileSync(input, 'utf8'));
const output = resolve(process.argv[3] ?? resolve(ROOT, defaultOutputs(results.config).report));
writeFileSync(output, renderMarkdown(results));
console.error(`rendered ${input} → ${output}`);
