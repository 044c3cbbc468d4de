import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { randomFile, sha256 } from './support/multipart.js';
import { shardOf } from '../src/storage/local-disk.storage.js';
import { freePort, spawnService, waitHealthy, type ServiceProcess } from './support/service-process.js';
import { until } from './support/until.js';

const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const MiB = 1024 * 1024;

describe('The Uppy page resumes across a server restart (e2e, Chromium and the compiled service)', () => {
  let root: string;
  let browser: Browser;
  let service: ServiceProcess | undefined;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'stowage-page-resume-'));
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-sync'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await service?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('uploads 40 MiB, the server is killed and restarted in the middle, and the page finishes the same upload: stored, same bytes', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = { PORT: String(port), UPLOAD_DIR: root, DURABILITY: 'fsync', LOG_LEVEL: 'warn', TASK_TRANSPORT: 'memory', ROLE: 'all' };
    service = spawnService('main.js', env);
    await waitHealthy(service, url);

    const file = randomFile(40 * MiB);
    const page = await browser.newPage();
    page.setDefaultTimeout(60_000);
    // A slow uplink, so the restart lands while the bytes are still going up.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 4 * MiB });
    await page.goto(`${url}/`);
    await page
      .getByLabel('Choose files to upload')
      .setInputFiles({ name: 'forty.bin', mimeType: 'application/octet-stream', buffer: file });

    // At least one chunk (8 MiB) acknowledged, and far from done.
    const receiving = await until('a chunk to be acknowledged', async () => {
      const res = await fetch(`${url}/uploads?status=receiving`);
      const items = ((await res.json()) as { items: Array<{ id: string; offset: number }> }).items;
      return items[0] && items[0].offset >= 8 * MiB ? items[0] : undefined;
    });
    expect(receiving.offset).toBeLessThan(40 * MiB);
    service.proc.kill('SIGKILL');
    await service.exited;
    service = spawnService('main.js', env);
    await waitHealthy(service, url);

    const item = page.locator('li.upload[data-status="stored"]', { hasText: 'forty.bin' });
    await item.waitFor({ timeout: 90_000 });
    const record = (await (await fetch(`${url}/uploads/${receiving.id}`)).json()) as { status: string; sha256: string; size: number };
    expect(record).toMatchObject({ status: 'stored', sha256: sha256(file), size: file.length });
    const list = (await (await fetch(`${url}/uploads`)).json()) as { items: Array<{ id: string }> };
    expect(list.items.map((r) => r.id)).toEqual([receiving.id]);
    const content = Buffer.from(await (await fetch(`${url}/uploads/${receiving.id}/content`)).arrayBuffer());
    expect(content.equals(file)).toBe(true);
    await page.screenshot({ path: join(import.meta.dirname, '..', 'test-output', 'upload-page-resumed.png') });
    await page.close();
    expect(await readFile(join(root, 'files', shardOf(receiving.id), receiving.id)).then((b) => b.length)).toBe(file.length);
  }, 150_000);
});
