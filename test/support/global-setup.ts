import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * Compiles src/ once per e2e run into test-output/build, for suites that run the service as a real
 * child process (crash, shutdown, scale-out). A private folder, so `dist/` and other builds are untouched.
 */
export default function globalSetup(): void {
  const root = join(import.meta.dirname, '..', '..');
  const outDir = join(root, 'test-output', 'build');
  execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', outDir], {
    cwd: root,
    stdio: 'inherit',
  });
  process.env.STOWAGE_BUILD_DIR = outDir;
}
