import request from 'supertest';
import { UploadReconciler } from '../src/uploads/lifecycle/upload-reconciler.service.js';
import { baseUrl, randomFile, sha256 } from './support/multipart.js';
import { createTestApp } from './support/test-app.js';
import { heldPatch, idOf, OFFSET_STREAM, pngFile, TUS, tusHelpers, tusMetadata, tusRequest } from './support/tus.js';
import { until } from './support/until.js';

describe('tus 1.0 protocol: types, admission, expiry (e2e)', () => {
  it('judges ALLOWED_MIME_TYPES on the declared type at creation and on the leading bytes when they arrive (415, upload removed)', async () => {
    const t = await createTestApp({ ALLOWED_MIME_TYPES: 'image/png' });
    try {
      const url = await baseUrl(t.server);
      const refused = await tusRequest(url, 'POST', '/uploads/tus', {
        ...TUS,
        'Upload-Length': 5000,
        'Upload-Metadata': tusMetadata({ filetype: 'text/plain' }),
      });
      expect(refused.status).toBe(415);
      expect(await t.staged()).toEqual([]);

      const png = { ...TUS, 'Upload-Length': 5000, 'Upload-Metadata': tusMetadata({ filetype: 'image/png' }) };
      const liar = idOf(await tusRequest(url, 'POST', '/uploads/tus', png));
      await tusRequest(url, 'PATCH', `/uploads/tus/${liar}`, { ...OFFSET_STREAM, 'Upload-Offset': 0 }, 'not a png');
      const judged = await tusRequest(url, 'PATCH', `/uploads/tus/${liar}`, { ...OFFSET_STREAM, 'Upload-Offset': 9 }, randomFile(4991));
      expect(judged.status).toBe(415);
      expect((await tusRequest(url, 'HEAD', `/uploads/tus/${liar}`, TUS)).status).toBe(404);

      const real = idOf(await tusRequest(url, 'POST', '/uploads/tus', png));
      const bytes = pngFile(5000);
      expect((await tusRequest(url, 'PATCH', `/uploads/tus/${real}`, { ...OFFSET_STREAM, 'Upload-Offset': 0 }, bytes)).status).toBe(204);
      expect(await t.uploads.waitUntilSettled(real)).toMatchObject({ mimeType: 'image/png' });
      expect(await t.staged()).toEqual([]);
      expect((await t.uploads.list()).items.map((r) => r.id)).toEqual([real]);
    } finally {
      await t.close();
    }
  });

  it('admission applies as for POST: 503 with Retry-After at creation and for a PATCH, and nothing changes', async () => {
    const open = await createTestApp();
    const id = idOf(await tusRequest(await baseUrl(open.server), 'POST', '/uploads/tus', { ...TUS, 'Upload-Length': 10 }));
    await open.close({ keepRoot: true });
    const full = await createTestApp({ MIN_FREE_DISK_BYTES: Number.MAX_SAFE_INTEGER }, undefined, open.root);
    try {
      const url = await baseUrl(full.server);
      const created = await tusRequest(url, 'POST', '/uploads/tus', { ...TUS, 'Upload-Length': 10 });
      expect(created.status).toBe(503);
      expect(created.headers['retry-after']).toBeDefined();
      const patched = await tusRequest(url, 'PATCH', `/uploads/tus/${id}`, { ...OFFSET_STREAM, 'Upload-Offset': 0 }, '12345');
      expect(patched.status).toBe(503);
      expect(patched.headers['retry-after']).toBeDefined();
      expect((await tusRequest(url, 'HEAD', `/uploads/tus/${id}`, TUS)).headers['upload-offset']).toBe('0');
      expect(await full.staged()).toEqual([id]);
      expect((await full.uploads.list()).items.map((r) => r.id)).toEqual([id]);
    } finally {
      await full.close();
    }
  });

  it('a PATCH that trickles is cut off by the slow-client rate, keeps what arrived, and frees the upload for a resume', async () => {
    const t = await createTestApp({ UPLOAD_MIN_BYTES_PER_SEC: 1000, UPLOAD_RATE_WINDOW_MS: 500 });
    try {
      const url = await baseUrl(t.server);
      const file = randomFile(100_000);
      const id = idOf(await tusRequest(url, 'POST', '/uploads/tus', { ...TUS, 'Upload-Length': file.length }));
      // 20 kB at once, then a byte every 100 ms: 10 bytes/s, under the 1000 asked for.
      const slow = heldPatch(
        url,
        `/uploads/tus/${id}`,
        { ...OFFSET_STREAM, 'Upload-Offset': 0, 'Content-Length': file.length },
        file.subarray(0, 20_000),
      );
      slow.reply.catch(() => undefined);
      let sent = 20_000;
      const trickle = setInterval(() => slow.write(file.subarray(sent, ++sent)), 100);
      try {
        await until('the trickling PATCH to be cut off', async () =>
          Number((await tusRequest(url, 'HEAD', `/uploads/tus/${id}`, TUS)).headers['upload-offset']) >= 20_000 && (await slow.closed())
            ? true
            : undefined,
        );
      } finally {
        clearInterval(trickle);
      }
      // The cut-off PATCH may still be flushing its bytes: resume where a client finds it once it is done.
      const offset = await tusHelpers(
        () => t,
        () => url,
      ).settledOffset(id);
      expect(offset).toBeGreaterThanOrEqual(20_000);
      expect(offset).toBeLessThanOrEqual(sent);
      expect(
        (await tusRequest(url, 'PATCH', `/uploads/tus/${id}`, { ...OFFSET_STREAM, 'Upload-Offset': offset }, file.subarray(offset))).status,
      ).toBe(204);
      expect(await t.uploads.waitUntilSettled(id)).toMatchObject({ status: 'stored', sha256: sha256(file) });
    } finally {
      await t.close();
    }
  });

  it('expiration: an unfinished upload expires (410), the sweep removes its bytes and counts it in /health', async () => {
    const t = await createTestApp({ RESUMABLE_EXPIRY_MS: 500 });
    try {
      const url = await baseUrl(t.server);
      const id = idOf(await tusRequest(url, 'POST', '/uploads/tus', { ...TUS, 'Upload-Length': 10 }));
      await tusRequest(url, 'PATCH', `/uploads/tus/${id}`, { ...OFFSET_STREAM, 'Upload-Offset': 0 }, '12345');
      await until('the upload to expire', async () =>
        (await tusRequest(url, 'HEAD', `/uploads/tus/${id}`, TUS)).status === 410 ? true : undefined,
      );
      const late = await tusRequest(url, 'PATCH', `/uploads/tus/${id}`, { ...OFFSET_STREAM, 'Upload-Offset': 5 }, '67890');
      expect(late.status).toBe(410);
      expect(JSON.parse(late.body)).toMatchObject({ code: 'UPLOAD_EXPIRED' });

      expect(await t.app.get(UploadReconciler).sweep()).toMatchObject({ expiredUploads: 1 });
      expect((await tusRequest(url, 'HEAD', `/uploads/tus/${id}`, TUS)).status).toBe(404);
      expect(await t.staged()).toEqual([]);
      expect((await t.uploads.list()).items).toEqual([]);
      const health = await request(t.server).get('/health').expect(200);
      expect(health.body.details.storage.reconciliation.totals.expiredUploads).toBeGreaterThanOrEqual(1);
    } finally {
      await t.close();
    }
  });
});
