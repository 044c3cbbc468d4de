import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** One real entry point of the compiled service (`main.js` or `worker.js`) running as a child process. */
export interface ServiceProcess {
  proc: ChildProcess;
  pid: number;
  /** Every stdout line so far: the service logs JSON lines there. */
  lines: string[];
  /** What the process wrote to stderr so far (the last megabyte). */
  stderr(): string;
  /** The parsed log lines whose `event` is `event`. */
  events(event: string): Array<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it is gone. */
  stop(graceMs?: number): Promise<void>;
}

/** Where the compiled entry points of the standalone app are, in the e2e build. */
export function serviceEntry(script: 'main.js' | 'worker.js'): string {
  const buildDir = process.env.STOWAGE_BUILD_DIR;
  if (!buildDir) throw new Error('STOWAGE_BUILD_DIR is not set: the e2e globalSetup builds the service');
  return join(buildDir, 'app', script);
}

/** Starts `node <build>/app/<script>` (the e2e globalSetup builds src/ into STOWAGE_BUILD_DIR) with `env` over the test's own. */
export function spawnService(script: 'main.js' | 'worker.js', env: Record<string, string>): ServiceProcess {
  const buildDir = process.env.STOWAGE_BUILD_DIR;
  if (!buildDir) throw new Error('STOWAGE_BUILD_DIR is not set: the e2e globalSetup builds the service');
  const proc = spawn(process.execPath, [serviceEntry(script)], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  createInterface({ input: proc.stdout }).on('line', (line) => lines.push(line));
  let stderr = '';
  proc.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-1024 * 1024)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );
  void exited.then(({ code }) => {
    if (code !== null && code !== 0) process.stderr.write(`${script} (pid ${proc.pid}) exited with ${code}: ${stderr.slice(-4000)}\n`);
  });
  const events = (event: string) =>
    lines.flatMap((line) => {
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        return parsed.event === event ? [parsed] : [];
      } catch {
        return [];
      }
    });
  const stop = async (graceMs = 5_000) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    proc.kill('SIGTERM');
    await exited;
    clearTimeout(timer);
  };
  return { proc, pid: proc.pid!, lines, stderr: () => stderr, events, exited, stop };
}

/** A TCP port that was free a moment ago (main.js takes its port from PORT). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Waits (bounded) until GET /health answers 200; fails early if the process exits. */
export async function waitHealthy(service: ServiceProcess, url: string, timeoutMs = 20_000): Promise<Record<string, unknown>> {
  let gone = false;
  void service.exited.then(() => (gone = true));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !gone) {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
    if (res?.status === 200) return (await res.json()) as Record<string, unknown>;
    await res?.arrayBuffer();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    `${url} did not become healthy (${gone ? 'process exited' : 'timed out'}); output: ${service.lines.slice(-20).join('\n')}`,
  );
}
