import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, serviceEntry, spawnService, waitHealthy } from './support/service-process.js';
import { until } from './support/until.js';

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

  it('says what is wrong with a size in one line per variable, with no stack trace', async () => {
    const { code, stderr, stdout } = await runMain({ MAX_FILE_SIZE: '10XB', SHUTDOWN_TIMEOUT_MS: 'soon' });
    expect(code).toBe(1);
    expect(stderr).toBe(
      'Invalid configuration:\n' +
        '  - MAX_FILE_SIZE is not a size (got "10XB"); expected bytes, or a number with a unit: 10MB, 512KiB, 1GiB\n' +
        '  - SHUTDOWN_TIMEOUT_MS is not a duration (got "soon"); expected milliseconds, or a number with a unit: 500ms, 30s, 5m, 24h\n',
    );
    expect(stdout).toBe('');
  });

  it('says where it listens, and where the docs and the upload page are, once started', async () => {
    const root = await mkdtemp(join(tmpdir(), 'stowage-startup-'));
    const port = await freePort();
    const service = spawnService('main.js', { PORT: String(port), UPLOAD_DIR: root, LOG_LEVEL: 'info' });
    try {
      await waitHealthy(service, `http://127.0.0.1:${port}`);
      const [started] = service.events('service.started');
      expect(started).toMatchObject({
        msg: `Stowage listening on http://localhost:${port}: upload page http://localhost:${port}/, API docs http://localhost:${port}/docs`,
        url: `http://localhost:${port}`,
        docs: `http://localhost:${port}/docs`,
        page: `http://localhost:${port}/`,
      });
    } finally {
      await service.stop();
      await rm(root, { recursive: true, force: true });
    }
  });

  it('loads Swagger when the API docs are first opened, not at start-up, and serves them then', async () => {
    const root = await mkdtemp(join(tmpdir(), 'stowage-docs-'));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const service = spawnService('main.js', { PORT: String(port), UPLOAD_DIR: root, LOG_LEVEL: 'info' });
    try {
      await waitHealthy(service, url);
      expect(service.events('docs.loaded')).toEqual([]);
      const page = await fetch(`${url}/docs`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<script src="docs/swagger-ui-bundle.js"></script>');
      const doc = (await (await fetch(`${url}/docs-json`)).json()) as { paths: Record<string, unknown> };
      expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/uploads', '/uploads/{id}', '/health']));
      await until('the docs line', async () => service.events('docs.loaded').length > 0 || undefined);
      expect(service.events('docs.loaded')).toEqual([expect.objectContaining({ loadedSwagger: true, installed: true })]);
      // Loaded once: later requests are served from it.
      expect((await fetch(`${url}/docs-json`)).status).toBe(200);
      expect((await fetch(`${url}/docs/swagger-ui.css`)).headers.get('content-type')).toMatch(/^text\/css/);
      expect(service.events('docs.loaded')).toHaveLength(1);
    } finally {
      await service.stop();
      await rm(root, { recursive: true, force: true });
    }
  });

  it('prints readable lines instead of JSON with LOG_PRETTY=true', async () => {
    const root = await mkdtemp(join(tmpdir(), 'stowage-pretty-'));
    const port = await freePort();
    const service = spawnService('main.js', { PORT: String(port), UPLOAD_DIR: root, LOG_LEVEL: 'info', LOG_PRETTY: 'true' });
    try {
      await waitHealthy(service, `http://127.0.0.1:${port}`);
      await until('the start-up line', async () => service.lines.find((l) => l.includes('Stowage listening on')));
      const line = service.lines.find((l) => l.includes('Stowage listening on'))!;
      expect(line).toMatch(/INFO.*Stowage listening on http:\/\/localhost:\d+/);
      expect(() => JSON.parse(line) as unknown).toThrow();
    } finally {
      await service.stop();
      await rm(root, { recursive: true, force: true });
    }
  });
});
