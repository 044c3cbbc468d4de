// Exits 1 with the one line saying what to install when the power-loss tests' FUSE tools are missing (.ci/run).
import { fuseTools, INSTALL_HINT } from './lib/crashfs.mjs';

try {
  fuseTools();
} catch {
  console.error(INSTALL_HINT);
  process.exit(1);
}
