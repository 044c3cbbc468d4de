import http from 'node:http';
import request from 'supertest';
import { STORAGE_BACKEND } from '../src/storage/storage-backend.interface.js';
import { StorageError } from '../src/domain/errors/storage.error.js';
import { InMemoryStorage } from '../src/testing/in-memory.storage.js';
import { baseUrl, randomFile } from './support/multipart.js';
import { parsePrometheusText, sampleValue } from './support/prometheus.js';
import { createTestApp, type TestApp } from './support/test-app.js';

async function scrape(t: TestApp) {
  const res = await request(t.server).get('/metrics').expect(200);
  expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parsePrometheusText(res.text);
}

/** Scrapes until `done` holds; the condition is what the test waits for, not a duration. */
async function scrapeUntil(t: TestApp, done: (m: Awaited<ReturnType<typeof scrape>>) => boolean) {
  for (let i = 0; i < 200; i += 1) {
    const metrics = await scrape(t);
    if (done(metrics)) return metrics;
    await new Promise((resolve) => setImmediate(resolve));
  }
  const last = await scrape(t);
  throw new Error(
    `metrics never reached the expected state; in flight ${sampleValue(last, 'stowage_uploads_in_flight')}, backlog ${sampleValue(last, 'stowage_uploads_backlog')}`,
  );
}

describe('Prometheus metrics (e2e)', () => {
  let t: TestApp;
  let backend: InMemoryStorage;

  beforeAll(async () => {
    backend = new InMemoryStorage();
    t = await createTestApp({}, (b) => b.overrideProvider(STORAGE_BACKEND).useValue(backend));
  });
  afterAll(() => t.close());

  it('counts received, stored and failed uploads, their bytes, sizes and storage time, in valid exposition format', async () => {
    const sizes = [10, 2048, 70_000];
    const ids: string[] = [];
    for (const size of sizes) {
      const { body } = await request(t.server).post('/uploads').attach('file', randomFile(size), `f${size}.bin`).expect(202);
      ids.push(body.id);
    }
    await Promise.all(ids.map((id) => t.uploads.waitUntilSettled(id)));
    backend.failNext(new StorageError('PERMISSION_DENIED', 'permission denied'));
    const { body: doomed } = await request(t.server).post('/uploads').attach('file', Buffer.from('doomed'), 'doomed.txt').expect(202);
    await expect(t.uploads.waitUntilSettled(doomed.id)).rejects.toThrow(/failed/);

    const m = await scrape(t);
    expect(sampleValue(m, 'stowage_uploads_received_total')).toBe(4);
    expect(sampleValue(m, 'stowage_uploads_stored_total')).toBe(3);
    expect(sampleValue(m, 'stowage_uploads_failed_total', { code: 'PERMISSION_DENIED' })).toBe(1);
    const bytes = sizes.reduce((a, b) => a + b, 0) + 'doomed'.length;
    expect(sampleValue(m, 'stowage_upload_received_bytes_total')).toBe(bytes);
    expect(sampleValue(m, 'stowage_upload_size_bytes_count')).toBe(4);
    expect(sampleValue(m, 'stowage_upload_size_bytes_sum')).toBe(bytes);
    expect(sampleValue(m, 'stowage_upload_size_bytes_bucket', { le: '1024' })).toBe(2); // 10 and 6 bytes
    expect(sampleValue(m, 'stowage_upload_storage_duration_seconds_count')).toBe(3);
    expect(sampleValue(m, 'stowage_uploads_in_flight')).toBe(0);
    expect(sampleValue(m, 'stowage_uploads_backlog')).toBe(0);

    expect(m.get('stowage_uploads_received_total')).toMatchObject({ type: 'counter', help: expect.any(String) });
    expect(m.get('stowage_upload_size_bytes')?.type).toBe('histogram');
    expect(m.get('stowage_uploads_in_flight')?.type).toBe('gauge');
    // Node's own process metrics come along.
    expect(sampleValue(m, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(sampleValue(m, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
  });

  it('shows an upload as in flight while its bytes stream in, and as unstored backlog until stored', async () => {
    const url = await baseUrl(t.server);
    const boundary = 'metricsBoundary';
    const req = http.request(`${url}/uploads`, {
      method: 'POST',
      headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': 10_000 },
    });
    req.on('error', () => undefined);
    req.write(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="slow.bin"\r\n\r\n` + 'x'.repeat(1000));
    try {
      await scrapeUntil(t, (m) => sampleValue(m, 'stowage_uploads_in_flight') === 1);
    } finally {
      req.destroy();
    }
    await scrapeUntil(t, (m) => sampleValue(m, 'stowage_uploads_in_flight') === 0);

    const release = backend.hold();
    try {
      const { body } = await request(t.server).post('/uploads').attach('file', Buffer.from('waiting'), 'waiting.txt').expect(202);
      expect(sampleValue(await scrape(t), 'stowage_uploads_backlog')).toBe(1);
      release();
      await t.uploads.waitUntilSettled(body.id);
      expect(sampleValue(await scrape(t), 'stowage_uploads_backlog')).toBe(0);
    } finally {
      release();
    }
  });

  it('keeps each app’s metrics to itself when two run in one process', async () => {
    const other = await createTestApp();
    try {
      const before = sampleValue(await scrape(t), 'stowage_uploads_received_total');
      const { body } = await request(other.server).post('/uploads').attach('file', Buffer.from('elsewhere'), 'other.txt').expect(202);
      await other.uploads.waitUntilSettled(body.id);
      expect(sampleValue(await scrape(other), 'stowage_uploads_received_total')).toBe(1);
      expect(sampleValue(await scrape(t), 'stowage_uploads_received_total')).toBe(before);
    } finally {
      await other.close();
    }
  });
});
