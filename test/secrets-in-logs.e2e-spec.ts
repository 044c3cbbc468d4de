import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, serviceEntry, spawnService, waitHealthy, type ServiceProcess } from './support/service-process.js';

const KEYS = ['stowage-key-alpha-0123456789', 'stowage-key-bravo-9876543210'];
const WRONG = 'not-the-key-but-secret-too-4242';
const COOKIE = 'session=cookie-secret-31337';

/** Every secret this suite sends, as it would appear in a leaked line. */
const SECRETS = [...KEYS, WRONG, 'cookie-secret-31337'];

describe('No secret reaches a log line (e2e, real process)', () => {
  let root: string;
  let service: ServiceProcess;
  let url: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'stowage-secrets-'));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    // trace: the most a log can ever say.
    service = spawnService('main.js', { PORT: String(port), UPLOAD_DIR: root, API_KEYS: KEYS.join(','), LOG_LEVEL: 'trace' });
    await waitHealthy(service, url);
  });
  afterAll(async () => {
    await service.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('logs requests with right, wrong and missing keys without their credentials, one line each', async () => {
    const form = () => {
      const body = new FormData();
      body.append('file', new Blob(['secret-free bytes']), 'a.txt');
      return body;
    };
    const sent = await fetch(`${url}/uploads`, {
      method: 'POST',
      body: form(),
      headers: { Authorization: `Bearer ${KEYS[0]}`, Cookie: COOKIE },
    });
    expect(sent.status).toBe(202);
    const { id } = (await sent.json()) as { id: string };
    for (const headers of <Array<Record<string, string>>>[
      { Authorization: `Bearer ${KEYS[1]}`, 'X-Api-Key': KEYS[0] },
      { Authorization: `Bearer ${WRONG}` },
      { Authorization: `Basic ${Buffer.from(`user:${WRONG}`).toString('base64')}`, 'Proxy-Authorization': `Bearer ${WRONG}` },
    ]) {
      await (await fetch(`${url}/uploads/${id}`, { headers })).arrayBuffer();
    }
    const rejected = await fetch(`${url}/uploads`, { method: 'POST', body: form(), headers: { Authorization: `Bearer ${WRONG}` } });
    expect(rejected.status).toBe(401);
    await service.stop();

    const requestLines = service.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request completed');
    expect(requestLines).toHaveLength(5);
    expect(requestLines[0]).toMatchObject({
      req: { method: 'POST', url: '/uploads' },
      res: { statusCode: 202 },
      uploadId: id,
      responseTime: expect.any(Number),
    });
    expect(Object.keys(requestLines[0].req as object).sort()).toEqual(['id', 'method', 'url']);
    const everything = service.lines.join('\n') + service.stderr();
    const base64 = SECRETS.map((s) => Buffer.from(`user:${s}`).toString('base64'));
    for (const secret of [...SECRETS, ...base64]) expect(everything).not.toContain(secret);
  });
});

describe('A configuration error does not echo a secret (e2e, real process)', () => {
  it('names API_KEYS without printing the rejected key', async () => {
    const tooShort = 'shortsecret42';
    const proc = spawn(process.execPath, [serviceEntry('main.js')], {
      env: { ...process.env, API_KEYS: tooShort },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    proc.stdout.on('data', (c: Buffer) => (output += c.toString()));
    proc.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const code = await new Promise<number | null>((resolve) => proc.on('exit', resolve));

    expect(code).not.toBe(0);
    expect(output).toContain('API_KEYS must be a comma-separated list');
    expect(output).not.toContain(tooShort);
  });
});
