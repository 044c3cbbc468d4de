#!/usr/bin/env node
// One large upload stored to S3 (moto on loopback), for docs/BENCHMARKS.md: MB/s from the 202 to
// `stored`, and how much the service's resident memory grows while it stores, against the bound
// the S3 backend promises (S3_PART_SIZE × S3_PARTS_IN_FLIGHT) plus 32 MiB.
//
// The service (dist/app/main.js, STORAGE_BACKEND=s3) gets the file over HTTP and answers 202 once it
// is staged; the clock and the memory sampling start at that 202 and stop when the record says
// `stored`. The object is then checked in the bucket (size and the SHA-256 metadata).
//
//   node bench/s3-store.mjs [--size 1GiB] [--part-size 8MiB] [--parts-in-flight 4] [--skip-build] [--json]
//
// moto_server: the one in STOWAGE_TEST_S3_ENDPOINT, else one started from PATH for the run.
// Also importable: `runS3Store(options)` resolves with the result, for the bench harness.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import process from 'node:process';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { startMotoServer } from '../test/support/moto-server.mjs';
import { runLoad } from './lib/load.mjs';
import { freePort, readMemory, runCommand, sampleMemory, startNodeServer, stopAll, stopChild } from './lib/proc.mjs';
import { SERVICE_ENTRY, serviceNodeArgs } from './lib/service-code.mjs';
import { formatSize, parseSize } from './lib/stats.mjs';
import { s3Section } from './lib/report-s3.mjs';
import { until } from './lib/until.mjs';

const ROOT = resolve(import.meta.dirname, '..');
const MiB = 1024 ** 2;

/** Stores one `size` upload through the built service; resolves the figures. */
export async function runS3Store({ size = 1024 ** 3, partSize = 8 * MiB, partsInFlight = 4, build = true, log = () => {} } = {}) {
  if (build) {
    const b = await runCommand('npm', ['run', 'build'], { cwd: ROOT, env: process.env, timeoutMs: 300_000 });
    if (b.code !== 0) throw new Error(`npm run build failed:\n${b.output.slice(-2000)}`);
  }
  const moto = process.env.STOWAGE_TEST_S3_ENDPOINT ? undefined : await startMotoServer();
  const endpoint = process.env.STOWAGE_TEST_S3_ENDPOINT ?? moto.endpoint;
  const credentials = { accessKeyId: 'stowage-bench', secretAccessKey: 'stowage-bench-secret' };
  const s3 = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials });
  const bucket = `stowage-bench-${Date.now().toString(36)}`;
  const storageRoot = mkdtempSync(join(os.tmpdir(), 'stowage-bench-s3-'));
  let server;
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    server = await startNodeServer({
      name: 'service (s3)',
      script: SERVICE_ENTRY,
      nodeArgs: serviceNodeArgs(ROOT),
      cwd: ROOT,
      port: await freePort(),
      env: {
        UPLOAD_DIR: storageRoot,
        LOG_LEVEL: 'warn',
        MAX_FILE_SIZE: String(Math.max(size, 2 * 1024 ** 3)),
        STORAGE_BACKEND: 's3',
        S3_BUCKET: bucket,
        S3_ENDPOINT: endpoint,
        S3_FORCE_PATH_STYLE: 'true',
        S3_PART_SIZE: String(partSize),
        S3_PARTS_IN_FLIGHT: String(partsInFlight),
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
    });
    const stored = async (id) => {
      const record = await (await fetch(`${server.url}/uploads/${id}`)).json();
      if (record.status === 'failed') throw new Error(`upload failed: ${JSON.stringify(record.error)}`);
      return record.status === 'stored' ? record : undefined;
    };
    // Warm-up: the S3 client connects and the code runs once before anything is measured.
    const warm = await runLoad({ type: 'stream', url: server.url, size: 12 * MiB, timeoutMs: 60_000 }, 70_000);
    await until('the warm-up upload to be stored', () => stored(warm.body.id), 60_000);

    const before = readMemory(server.pid).rss;
    log(`s3: uploading ${formatSize(size)} (parts of ${formatSize(partSize)}, ${partsInFlight} in flight) …`);
    const timeoutMs = Math.max(120_000, Math.ceil(size / (2 * MiB)) * 1000);
    const upload = await runLoad({ type: 'stream', url: server.url, size, timeoutMs }, timeoutMs + 10_000);
    if (upload.status !== 202) throw new Error(`the upload answered ${upload.status}: ${JSON.stringify(upload.body).slice(0, 300)}`);
    // Storing began at the 202: the clock and the sampling start now.
    const started = performance.now();
    const memory = sampleMemory(server.pid, 5);
    const record = await until('the upload to be stored', () => stored(upload.body.id), timeoutMs);
    const seconds = (performance.now() - started) / 1000;
    const mem = memory.stop();
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: upload.body.id }));
    if (head.ContentLength !== size || head.Metadata?.sha256 !== record.sha256) {
      throw new Error(`the object does not hold the upload (size ${head.ContentLength}, sha256 ${head.Metadata?.sha256})`);
    }
    const bound = partSize * partsInFlight;
    const growth = mem.peak - mem.start;
    return {
      size,
      partSize,
      partsInFlight,
      seconds,
      mbps: size / MiB / seconds,
      uploadMbps: upload.mbps,
      rssBeforeUpload: before,
      rssAt202: mem.start,
      rssPeakWhileStoring: mem.peak,
      rssGrowth: growth,
      rssGrowthOverBeforeUpload: mem.peak - before,
      bound,
      target: bound + 32 * MiB,
      withinTarget: growth <= bound + 32 * MiB,
      hwmReset: mem.hwmReset,
    };
  } finally {
    if (server) await stopChild(server.child);
    // moto holds the objects in memory: a bucket of our own, emptied and removed.
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket })).catch(() => ({ Contents: [] }));
    for (const o of listed.Contents ?? []) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.Key })).catch(() => undefined);
    await s3.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
    s3.destroy();
    await moto?.stop();
    rmSync(storageRoot, { recursive: true, force: true });
  }
}

/** For bench/run.mjs: the harness's large-file size (1 GiB, 64 MiB with --quick); a failure is a problem, not the end. */
export async function measureS3Store(ctx) {
  ctx.log(`s3: ${formatSize(ctx.config.largeSize)} stored to moto`);
  try {
    const result = await runS3Store({ size: ctx.config.largeSize, build: false, log: ctx.log });
    ctx.log(
      `s3: ${result.mbps.toFixed(0)} MB/s from 202 to stored, RSS growth ${(result.rssGrowth / MiB).toFixed(0)} MiB (target ${(result.target / MiB).toFixed(0)} MiB)`,
    );
    return { result };
  } catch (err) {
    const error = String(err?.message ?? err);
    ctx.problems.push(`s3: ${error}`);
    return { error };
  }
}

/** The figure as BENCHMARKS.md shows it. */

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      size: { type: 'string', default: '1GiB' },
      'part-size': { type: 'string', default: '8MiB' },
      'parts-in-flight': { type: 'string', default: '4' },
      'skip-build': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const log = (line) => process.stderr.write(`${line}\n`);
  runS3Store({
    size: parseSize(values.size),
    partSize: parseSize(values['part-size']),
    partsInFlight: Number(values['parts-in-flight']),
    build: !values['skip-build'],
    log,
  }).then(
    async (r) => {
      if (values.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      else process.stdout.write(`${s3Section({ result: r }).join('\n')}\n`);
      await stopAll();
      process.exit(0);
    },
    async (err) => {
      process.stderr.write(`s3-store failed: ${err?.stack ?? err}\n`);
      await stopAll();
      process.exit(1);
    },
  );
}
