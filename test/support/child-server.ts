import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface ChildServer {
  proc: ChildProcess;
  port: number;
  url: string;
  /** Resolves with the first stdout line matching `pattern` (seen before or after the call). */
  line(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Every stdout line so far (the service logs JSON lines there). */
  output: string[];
  /** Exit code (null when killed by a signal) and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts the compiled service (test/support/crash-child.mjs) on an ephemeral port. With `tmpfsBytes`,
 * it runs in its own mount namespace with a tmpfs of that size mounted on UPLOAD_DIR: a small disk
 * that really fills, seen only by that process and gone with it.
 */
export async function startChildServer(env: Record<string, string>, { tmpfsBytes }: { tmpfsBytes?: number } = {}): Promise<ChildServer> {
  const buildDir = process.env.STOWAGE_BUILD_DIR;
  if (!buildDir) throw new Error('STOWAGE_BUILD_DIR is not set: the e2e globalSetup builds the service');
  const child = join(import.meta.dirname, 'crash-child.mjs');
  const [command, args] = tmpfsBytes
    ? [
        'unshare',
        [
          '--mount',
          '--map-root-user',
          'sh',
          '-c',
          `mount -t tmpfs -o size=${tmpfsBytes} tmpfs "$UPLOAD_DIR" && exec "$0" "$1"`,
          process.execPath,
          child,
        ],
      ]
    : [process.execPath, [child]];
  const proc = spawn(command, args, {
    env: { ...process.env, STOWAGE_BUILD_DIR: buildDir, LOG_LEVEL: 'warn', RETRY_BASE_DELAY_MS: '5', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const seen: string[] = [];
  const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  createInterface({ input: proc.stdout }).on('line', (line) => {
    seen.push(line);
    for (const w of [...waiters]) {
      if (w.pattern.test(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  let stderr = '';
  proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );

  const line = (pattern: RegExp, timeoutMs = 15_000) =>
    new Promise<string>((resolve, reject) => {
      const hit = seen.find((l) => pattern.test(l));
      if (hit) return resolve(hit);
      const timer = setTimeout(
        () => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}`)),
        timeoutMs,
      );
      waiters.push({ pattern, resolve: (l) => (clearTimeout(timer), resolve(l)) });
      void exited.then(({ code, signal }) =>
        reject(new Error(`server exited (${code ?? signal}) before ${pattern}; stderr: ${stderr.slice(-2000)}`)),
      );
    });

  const port = Number((await line(/^LISTENING \d+$/)).split(' ')[1]);
  return { proc, port, url: `http://127.0.0.1:${port}`, line, output: seen, exited };
}

/**
 * The compiled service on a temporary storage root for a whole `describe` block: started in
 * `beforeAll` with the env `envFor(root)` gives, killed and its root removed in `afterAll`.
 */
export function childServerForSuite(
  prefix: string,
  envFor: (root: string) => Record<string, string>,
  options: { tmpfsBytes?: number } = {},
): { readonly server: ChildServer; readonly root: string } {
  let server: ChildServer | undefined;
  let root: string | undefined;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), prefix));
    server = await startChildServer(envFor(root), options);
  });
  afterAll(async () => {
    server?.proc.kill('SIGKILL');
    await server?.exited;
    if (root) await rm(root, { recursive: true, force: true });
  });
  return {
    get server() {
      if (!server) throw new Error('the child server starts in beforeAll');
      return server;
    },
    get root() {
      if (!root) throw new Error('the storage root is made in beforeAll');
      return root;
    },
  };
}
