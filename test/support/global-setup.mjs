import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * Compiles src/ once per e2e run into test-output/build, for suites that run the service as a real
 * child process (crash, shutdown, scale-out). A private folder, so `dist/` and other builds are untouched.
 */
export default function globalSetup(): void {
  const root = join(import.meta.dirname, '..', '..');
  const outDir = join(root, 'test-output', 'build');
  try {
    execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', outDir], {
      cwd: root,
      stdio: 'pipe',
    });
  } catch (err) {
    // Exit 2 means type errors with the output still emitted; `npm test` reports those in its typecheck step.
    if ((err as { status?: number }).status !== 2) throw err;
  }
  process.env.STOWAGE_BUILD_DIR = outDir;
}
