import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ensureChromium, ensureFuse, ensureMotoServer, ensureRedis } from '../../scripts/test-prerequisites.mjs';
import { S3_TEST_ENDPOINT_VAR, startMotoServer } from './moto-server.mjs';

/**
 * Before the e2e suites: Redis must answer, Chromium and FUSE must be there (installed from Debian's
 * packages when missing and this is root; otherwise one line says what to install). moto's S3 server
 * is started on a free port (or the one CI started is used: STOWAGE_TEST_S3_ENDPOINT), and stopped by
 * the global teardown; a missing moto_server stops the run with one line. Then compiles
 * src/ once per run into test-output/build, for suites that run the service as a real child process
 * (crash, shutdown, scale-out). A private folder, so `dist/` and other builds are untouched.
 * Plain JavaScript: jest loads global setups natively, so they cannot import other TypeScript files.
 */
export default async function globalSetup() {
  await ensureRedis();
  ensureChromium();
  ensureFuse(); // the outage tests' fault layer
  if (!process.env[S3_TEST_ENDPOINT_VAR]) ensureMotoServer(); // before the build: a missing one fails at once
  // The SDK's credential chain must stop at the environment: never ask an instance-metadata address.
  process.env.AWS_ACCESS_KEY_ID = 'stowage-test';
  process.env.AWS_SECRET_ACCESS_KEY = 'stowage-test-secret';
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  delete process.env.AWS_PROFILE;
  const root = join(import.meta.dirname, '..', '..');
  const outDir = join(root, 'test-output', 'build');
  try {
    execFileSync(
      process.execPath,
      [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', outDir],
      {
        cwd: root,
        stdio: 'pipe',
      },
    );
  } catch (err) {
    // Exit 2 means type errors with the output still emitted; `npm test` reports those in its typecheck step.
    if (err?.status !== 2) throw err;
  }
  process.env.STOWAGE_BUILD_DIR = outDir;
  if (!process.env[S3_TEST_ENDPOINT_VAR]) {
    globalThis.stowageMoto = await startMotoServer();
    process.env[S3_TEST_ENDPOINT_VAR] = globalThis.stowageMoto.endpoint;
  }
}
