// Starts moto's S3 server (moto_server, found on PATH) on a free loopback port for the e2e suites,
// and stops it again by its pid. Plain JavaScript: the jest global setup loads it natively.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { ensureMotoServer } from '../../scripts/test-prerequisites.mjs';

/** The variable that tells the tests (and the service processes they start) where S3 is. */
export const S3_TEST_ENDPOINT_VAR = 'STOWAGE_TEST_S3_ENDPOINT';

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * moto_server is Python and cannot watch its parent, so a shell holds it: moto runs until the shell's
 * stdin (a pipe from this process) closes, which `stop()` does and which also happens when this
 * process dies in any way (a test calling `process.exit`, SIGKILL). So moto never outlives the run
 * that started it; and when moto exits by itself, so does the shell, and its output is reported.
 */
const HOLD_UNTIL_STDIN_CLOSES = [
  'exec 3<&0',
  '"$0" "$@" </dev/null &',
  'moto=$!',
  '(while read -r _ <&3; do :; done; kill "$moto" 2>/dev/null) &',
  'wait "$moto"',
].join('\n');

/**
 * Resolves `{ endpoint, stop }` once moto answers HTTP on its port; rejects with its output if it
 * exits or does not answer within `timeoutMs`. Throws a one-line MissingPrerequisite when
 * moto_server is not installed.
 */
export async function startMotoServer({ timeoutMs = 30_000 } = {}) {
  const command = ensureMotoServer();
  const port = await freePort();
  const proc = spawn('sh', ['-c', HOLD_UNTIL_STDIN_CLOSES, command, '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  proc.stdin.on('error', () => {}); // a shell that is already gone: nothing left to stop
  let output = '';
  const keep = (chunk) => (output = (output + chunk.toString()).slice(-4000));
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  let exited = false;
  const gone = new Promise((resolve) => proc.on('exit', () => resolve((exited = true))));
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (exited) return;
    proc.stdin.end(); // the shell stops moto and exits once moto has
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
    await gone;
    clearTimeout(timer);
  };
  const deadline = Date.now() + timeoutMs;
  while (!exited) {
    const res = await fetch(`${endpoint}/`, { signal: AbortSignal.timeout(1_000) }).catch(() => undefined);
    if (res) {
      await res.arrayBuffer();
      return { endpoint, pid: proc.pid, stop };
    }
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stop();
  throw new Error(`moto_server did not answer on ${endpoint} (${exited ? 'it exited' : 'timed out'}): ${output}`);
}
