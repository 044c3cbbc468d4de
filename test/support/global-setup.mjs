import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ensureChromium, ensureRedis } from '../../scripts/test-prerequisites.mjs';

/**
 * Before the e2e suites: Redis must answer and Chromium must be there (installed from Debian's
 * packages when missing and this is root; otherwise one line says what to install). Then compiles
 * src/ once per run into test-output/build, for suites that run the service as a real child process
 * (crash, shutdown, scale-out). A private folder, so `dist/` and other builds are untouched.
 * Plain JavaScript: jest loads global setups natively, so they cannot import other TypeScript files.
 */
export default async function globalSetup() {
  await ensureRedis();
  ensureChromium();
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
}
