import { spawn } from 'node:child_process';
import { serviceEntry } from './support/service-process.js';

/** Runs the compiled `main.js` with `env` until it exits (it must, with a bad configuration). */
function runMain(env: Record<string, string>): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [serviceEntry('main.js')], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, stdout });
    });
  });
}

describe('Start-up configuration (e2e, real process)', () => {
  it.each([
    [{ PORT: 'eighty' }, 'PORT must be an integer'],
    [{ MAX_FILE_SIZE: '-5' }, 'MAX_FILE_SIZE must not be less than 0'],
    [{ DURABILITY: 'maybe' }, 'DURABILITY must be one of the following values: fsync, none'],
    [{ ALLOWED_MIME_TYPES: 'pictures' }, 'ALLOWED_MIME_TYPES must be a comma-separated list'],
  ])('refuses %j with a message naming the variable', async (env, message) => {
    const { code, stderr, stdout } = await runMain(env);
    expect(code).not.toBe(0);
    expect(stderr + stdout).toContain(message);
  });
});
