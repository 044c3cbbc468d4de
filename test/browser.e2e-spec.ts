import { mkdir, readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { StorageError } from '../src/domain/errors/storage.error.js';
import { STORAGE_BACKEND } from '../src/storage/storage-backend.interface.js';
import { InMemoryStorage } from '../src/testing/in-memory.storage.js';
import { baseUrl, randomFile } from './support/multipart.js';
import { createTestApp, type TestApp } from './support/test-app.js';

/** Debian's package by default; CI installs it (see .ci/run). */
const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const OUTPUT = fileURLToPath(new URL('../test-output/', import.meta.url));
const TIMEOUT = 30_000;

describe('In a real browser (e2e, Chromium)', () => {
  let t: TestApp;
  let url: string;
  let backend: InMemoryStorage;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    await mkdir(OUTPUT, { recursive: true });
    backend = new InMemoryStorage();
    // No polling: whatever the page shows after the 202 was pushed by this process's events.
    t = await createTestApp({ STATUS_POLL_INTERVAL_MS: 0 }, (b) => b.overrideProvider(STORAGE_BACKEND).useValue(backend));
    url = await baseUrl(t.server);
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      headless: true, // Playwright adds --headless and a fresh temporary --user-data-dir
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, TIMEOUT);

  beforeEach(async () => {
    page = await browser.newPage({ acceptDownloads: true, viewport: { width: 1000, height: 800 } });
    page.setDefaultTimeout(10_000);
  });

  afterEach(async () => {
    await page?.close();
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  }, TIMEOUT);

  it(
    'uploads a file from Swagger UI with "Try it out" and shows the 202 and its id',
    async () => {
      await page.goto(`${url}/docs`);
      const operation = page.locator('.opblock-post', { has: page.locator('[data-path="/uploads"]') }).first();
      await operation.locator('.opblock-summary').click();
      await operation.getByRole('button', { name: 'Try it out' }).click();
      await operation
        .locator('input[type="file"]')
        .setInputFiles({ name: 'from-swagger.txt', mimeType: 'text/plain', buffer: Buffer.from('uploaded through Swagger UI') });
      await operation.getByRole('button', { name: 'Execute' }).click();

      const live = operation.locator('.live-responses-table');
      const status = live.locator('tr.response .response-col_status');
      await status.waitFor();
      expect((await status.innerText()).trim()).toBe('202');
      const body = JSON.parse(await live.locator('tr.response .response-col_description .highlight-code pre').first().innerText()) as {
        id: string;
        filename: string;
        status: string;
      };
      expect(body).toMatchObject({ filename: 'from-swagger.txt', status: 'received' });

      await status.scrollIntoViewIfNeeded();
      await page.screenshot({ path: `${OUTPUT}swagger-try-it-out.png` });
      const stored = await t.uploads.waitUntilSettled(body.id);
      expect(stored.size).toBe(Buffer.byteLength('uploaded through Swagger UI'));
    },
    TIMEOUT,
  );

  it(
    'sends a resumable upload from Swagger UI: tus creation, then the file in one PATCH, and it is stored',
    async () => {
      const bytes = Buffer.from('resumable, sent through Swagger UI\n');
      await page.goto(`${url}/docs`);
      /** The operation's block, opened and in "Try it out" mode; `execute` answers the status and the response headers. */
      const tryOut = async (method: string, path: string) => {
        const block = page.locator(`.opblock-${method}`, { has: page.locator(`[data-path="${path}"]`) }).first();
        await block.locator('.opblock-summary').click();
        await block.getByRole('button', { name: 'Try it out' }).click();
        const execute = async () => {
          await block.getByRole('button', { name: 'Execute' }).click();
          const status = block.locator('.live-responses-table tr.response .response-col_status');
          await status.waitFor();
          const headers = await block.locator('.live-responses-table tr.response .response-col_description').first().innerText();
          return { status: (await status.innerText()).trim(), headers };
        };
        return { block, execute };
      };

      const creation = await tryOut('post', '/uploads/tus');
      await creation.block.locator('tr[data-param-name="Upload-Length"] input').fill(String(bytes.length));
      const created = await creation.execute();
      expect(created.status).toBe('201');
      const id = /location: tus\/([0-9a-f-]{36})/.exec(created.headers)?.[1];
      expect(id).toBeDefined();

      const chunk = await tryOut('patch', '/uploads/tus/{id}');
      await chunk.block.locator('tr[data-param-name="id"] input').fill(id!);
      await chunk.block.locator('tr[data-param-name="Upload-Offset"] input').fill('0');
      await chunk.block.locator('input[type="file"]').setInputFiles({ name: 'resumable.txt', mimeType: 'text/plain', buffer: bytes });
      const patched = await chunk.execute();
      expect(patched.status).toBe('204');
      expect(patched.headers).toContain(`upload-offset: ${bytes.length}`);

      const stored = await t.uploads.waitUntilSettled(id!);
      expect(stored).toMatchObject({ status: 'stored', size: bytes.length });
      expect(backend.objects.get(id!)).toEqual(bytes);
    },
    TIMEOUT,
  );

  it(
    'uploads two files from the upload page, shows them stored live, and downloads the same bytes',
    async () => {
      const files = [
        { name: 'alpha.bin', mimeType: 'application/octet-stream', buffer: randomFile(300 * 1024) },
        { name: 'beta notes.txt', mimeType: 'text/plain', buffer: Buffer.from('second file, plain text\n') },
      ];
      const release = backend.hold();
      try {
        await page.goto(`${url}/`);
        await page.getByLabel('Choose files to upload').setInputFiles(files);

        // Storage is held: both are accepted and wait, the page says so. (The page also lists the
        // uploads made before it was opened, e.g. by the Swagger test.)
        const items = page.locator('li.upload').filter({ hasText: /alpha\.bin|beta notes\.txt/ });
        await items.and(page.locator('[data-status="received"], [data-status="processing"]')).nth(1).waitFor();
        expect(await items.count()).toBe(2);
        await page.screenshot({ path: `${OUTPUT}upload-page-storing.png` });

        release();
        await items.and(page.locator('[data-status="stored"]')).nth(1).waitFor();
        for (const file of files) {
          const item = items.filter({ hasText: file.name });
          expect(await item.getByRole('status').innerText()).toMatch(/^Stored/);
          const progress = item.locator('progress');
          expect(
            await progress.evaluate(
              (p) => (p as unknown as { value: number; max: number }).value === (p as unknown as { max: number }).max,
            ),
          ).toBe(true);
        }
        await page.screenshot({ path: `${OUTPUT}upload-page-stored.png` });

        for (const file of files) {
          const link = items.filter({ hasText: file.name }).getByRole('link', { name: `Download ${file.name}` });
          const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
          expect(download.suggestedFilename()).toBe(file.name);
          expect(Buffer.compare(await readFile(await download.path()), file.buffer)).toBe(0);
        }
      } finally {
        release();
      }
    },
    TIMEOUT,
  );

  it(
    'on load lists the recent uploads with their status; a failed one shows its reason and a Retry button that stores it',
    async () => {
      backend.failNext(new StorageError('PERMISSION_DENIED', 'the bucket refused the test file'));
      const failing = await t.uploads.upload(Readable.from([Buffer.from('fails once')]), { filename: 'fails-once.txt' });
      await expect(t.uploads.waitUntilSettled(failing.id)).rejects.toThrow(/failed/);
      const kept = await t.uploads.upload(Readable.from([Buffer.from('kept')]), { filename: 'kept.txt' });
      await t.uploads.waitUntilSettled(kept.id);

      await page.goto(`${url}/`);
      const failed = page.locator('li.upload[data-status="failed"]', { hasText: 'fails-once.txt' });
      await failed.waitFor();
      expect(await failed.getByRole('status').innerText()).toMatch(/^Failed: the bucket refused the test file/);
      await page
        .locator('li.upload[data-status="stored"]', { hasText: 'kept.txt' })
        .getByRole('link', { name: 'Download kept.txt' })
        .waitFor();
      await page.screenshot({ path: `${OUTPUT}upload-page-recent.png` });

      await failed.getByRole('button', { name: 'Retry' }).click();
      await page.locator('li.upload[data-status="stored"]', { hasText: 'fails-once.txt' }).waitFor();
      expect((await t.uploads.get(failing.id)).status).toBe('stored');

      const favicon = await page.request.get(`${url}/favicon.ico`);
      expect(favicon.status()).toBe(200);
      expect(favicon.headers()['content-type']).toBe('image/x-icon');
    },
    TIMEOUT,
  );

  it(
    'with API keys on: shows why an upload without a key is refused, and works end to end with one',
    async () => {
      const key = 'page-test-key-0123456789';
      const secured = await createTestApp({ API_KEYS: key, STATUS_POLL_INTERVAL_MS: 0 });
      try {
        await page.goto(`${await baseUrl(secured.server)}/`);
        const upload = (name: string, content: string) =>
          page.getByLabel('Choose files to upload').setInputFiles({ name, mimeType: 'text/plain', buffer: Buffer.from(content) });

        await upload('no-key.txt', 'refused');
        const refused = page.locator('li.upload[data-status="failed"]', { hasText: 'no-key.txt' });
        await refused.waitFor();
        expect(await refused.getByRole('status').innerText()).toBe(
          'Failed: Missing API key: send "Authorization: Bearer <key>" (HTTP 401)',
        );

        await page.getByText('API key', { exact: true }).click();
        await page.getByLabel('API key, if this service requires one').fill(key);
        await upload('with-key.txt', 'accepted with a key');
        const stored = page.locator('li.upload[data-status="stored"]', { hasText: 'with-key.txt' });
        await stored.waitFor();
        const [download] = await Promise.all([
          page.waitForEvent('download'),
          stored.getByRole('link', { name: 'Download with-key.txt' }).click(),
        ]);
        expect(await readFile(await download.path(), 'utf8')).toBe('accepted with a key');
        await page.screenshot({ path: `${OUTPUT}upload-page-api-key.png` });
      } finally {
        await secured.close();
      }
    },
    TIMEOUT,
  );
});
