import { mkdir, readdir, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { until } from './support/until.js';
import request from 'supertest';
import { shardOf } from '../src/storage/local-disk.storage.js';
import { STORAGE_BACKEND } from '../src/storage/storage-backend.interface.js';
import { InMemoryStorage } from '../src/testing/in-memory.storage.js';
import { UploadReconciler } from '../src/uploads/lifecycle/upload-reconciler.service.js';
import { createTestApp, type TestApp } from './support/test-app.js';
import { randomFile, sha256 } from './support/multipart.js';

describe('Safe retries with Idempotency-Key (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => (t = await createTestApp()));
  afterAll(() => t.close());

  it('answers a repeated POST with the original upload instead of storing a second copy', async () => {
    const file = randomFile(20_000);
    const first = await request(t.server).post('/uploads').set('Idempotency-Key', 'order-42').attach('file', file, 'a.bin').expect(202);
    const again = await request(t.server).post('/uploads').set('Idempotency-Key', 'order-42').attach('file', file, 'a.bin').expect(202);

    expect(again.body.id).toBe(first.body.id);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.headers.location).toBe(`/uploads/${first.body.id}`);
    await t.uploads.waitUntilSettled(first.body.id);
    const all = await request(t.server).get('/uploads?limit=100').expect(200);
    expect(all.body.items.filter((r: { sha256: string }) => r.sha256 === first.body.sha256)).toHaveLength(1);
    expect(await t.staged()).toEqual([]);
  });

  it('refuses the same key with different bytes with 409', async () => {
    const first = await request(t.server)
      .post('/uploads')
      .set('Idempotency-Key', 'k-1')
      .attach('file', Buffer.from('one'), 'x.txt')
      .expect(202);
    await t.uploads.waitUntilSettled(first.body.id);
    const clash = await request(t.server)
      .post('/uploads')
      .set('Idempotency-Key', 'k-1')
      .attach('file', Buffer.from('two'), 'x.txt')
      .expect(409);
    expect(clash.body).toMatchObject({ statusCode: 409, code: 'IDEMPOTENCY_KEY_REUSED' });
    expect(await t.staged()).toEqual([]);
  });

  it('gives concurrent identical requests one upload', async () => {
    const file = randomFile(50_000);
    const replies = await Promise.all(
      Array.from({ length: 5 }, () => request(t.server).post('/uploads').set('Idempotency-Key', 'burst').attach('file', file, 'b.bin')),
    );
    expect(new Set(replies.map((r) => r.status))).toEqual(new Set([202]));
    expect(new Set(replies.map((r) => r.body.id)).size).toBe(1);
  });
});

describe('Backpressure (e2e)', () => {
  it('answers 503 with Retry-After when the backlog is full, and accepts again once it drains', async () => {
    const backend = new InMemoryStorage();
    const release = backend.hold();
    const t = await createTestApp({ MAX_BACKLOG: 2, STORAGE_CONCURRENCY: 1 }, (b) => b.overrideProvider(STORAGE_BACKEND).useValue(backend));
    try {
      const held = [];
      for (let i = 0; i < 2; i += 1)
        held.push(
          (
            await request(t.server)
              .post('/uploads')
              .attach('file', Buffer.from(`h${i}`), 'h.txt')
              .expect(202)
          ).body.id,
        );
      const refused = await request(t.server).post('/uploads').attach('file', Buffer.from('third'), 'c.txt').expect(503);
      expect(refused.headers['retry-after']).toBe('5');
      expect(refused.body).toMatchObject({ statusCode: 503, code: 'UPLOADS_UNAVAILABLE', message: expect.stringContaining('backlog') });
      expect(await t.staged()).toHaveLength(2);

      release();
      await Promise.all(held.map((id) => t.uploads.waitUntilSettled(id)));
      await request(t.server).post('/uploads').attach('file', Buffer.from('third'), 'c.txt').expect(202);
    } finally {
      await t.close();
    }
  });

  it('answers 503 when free disk is below the floor', async () => {
    const t = await createTestApp({ MIN_FREE_DISK_BYTES: Number.MAX_SAFE_INTEGER });
    try {
      const res = await request(t.server).post('/uploads').attach('file', Buffer.from('x'), 'x.txt').expect(503);
      expect(res.body.message).toMatch(/disk/);
      expect(await t.staged()).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('answers 503 when the staging area holds more than its limit', async () => {
    const backend = new InMemoryStorage();
    const release = backend.hold();
    const t = await createTestApp({ MAX_STAGING_BYTES: 1000 }, (b) => b.overrideProvider(STORAGE_BACKEND).useValue(backend));
    try {
      const held = await request(t.server).post('/uploads').attach('file', randomFile(2000), 'big.bin').expect(202);
      const res = await request(t.server).post('/uploads').attach('file', Buffer.from('x'), 'x.txt').expect(503);
      expect(res.body.message).toMatch(/Staging/);
      release();
      await t.uploads.waitUntilSettled(held.body.id);
    } finally {
      await t.close();
    }
  });
});

describe('Reconciliation (e2e)', () => {
  it('repairs or reports records and files that disagree, and counts them in /health', async () => {
    const t = await createTestApp({ STALE_STAGING_MS: 60_000, RECONCILE_INTERVAL_MS: 0 });
    try {
      const reconciler = t.app.get(UploadReconciler);
      const gone = await request(t.server).post('/uploads').attach('file', Buffer.from('vanishing'), 'v.txt').expect(202);
      await t.uploads.waitUntilSettled(gone.body.id);
      const id: string = gone.body.id;
      await rm(join(t.root, 'files', shardOf(id), id));

      const orphanKey = '01939a4e-7f1c-7b3a-9c1d-2f4e5a6b7c8d';
      await mkdir(join(t.root, 'files', shardOf(orphanKey)), { recursive: true });
      await writeFile(join(t.root, 'files', shardOf(orphanKey), orphanKey), 'no record');

      const stale = join(t.root, 'staging', '01939a4e-0000-7000-8000-000000000001');
      await writeFile(stale, 'left over');
      const old = new Date(Date.now() - 3_600_000);
      await utimes(stale, old, old);
      // A save cut off long ago left its temp file; a recent one may belong to a save still running.
      const oldTemp = join(t.root, 'files', '.incomplete', `${orphanKey}.1.tmp`);
      const freshTemp = join(t.root, 'files', '.incomplete', `${orphanKey}.2.tmp`);
      await mkdir(join(t.root, 'files', '.incomplete'), { recursive: true });
      await writeFile(oldTemp, 'half');
      await utimes(oldTemp, old, old);
      await writeFile(freshTemp, 'half');

      const findings = await reconciler.sweep();
      expect(findings).toMatchObject({ missingContent: 1, orphanedContent: 1, staleStaging: 1, staleIncomplete: 1 });
      expect(await readdir(join(t.root, 'files', '.incomplete'))).toEqual([`${orphanKey}.2.tmp`]);
      expect(await t.uploads.get(id)).toMatchObject({ status: 'failed', error: { code: 'CONTENT_MISSING' } });
      expect(await readdir(join(t.root, 'files', shardOf(orphanKey)))).toEqual([]);
      expect(await t.staged()).toEqual([]);

      const health = await request(t.server).get('/health').expect(200);
      expect(health.body.details.storage.reconciliation.last).toMatchObject({
        missingContent: 1,
        orphanedContent: 1,
        staleStaging: 1,
        staleIncomplete: 1,
      });
    } finally {
      await t.close();
    }
  });
});

describe('Start-up sweep (e2e)', () => {
  it('answers before the first sweep has visited every stored upload, and stops that sweep when closed', async () => {
    const first = await createTestApp();
    const { body } = await request(first.server).post('/uploads').attach('file', Buffer.from('kept'), 'k.txt').expect(202);
    await first.uploads.waitUntilSettled(body.id);
    await first.close({ keepRoot: true });

    // The next start's sweep stats that stored upload and is held there.
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const visited: string[] = [];
    class GatedStorage extends InMemoryStorage {
      override async stat(key: string): Promise<{ size: number }> {
        visited.push(key);
        await gate;
        return { size: 4 };
      }
    }
    const second = await createTestApp(undefined, (b) => b.overrideProvider(STORAGE_BACKEND).useValue(new GatedStorage()), first.root);
    const reconciler = second.app.get(UploadReconciler);
    try {
      await until('the start-up sweep to reach the stored upload', async () => (visited.length > 0 ? true : undefined));
      const health = await request(second.server).get('/health').expect(200);
      expect(health.body.details.storage.reconciliation.last).toBeUndefined();
      await request(second.server).post('/uploads').attach('file', Buffer.from('new'), 'n.txt').expect(202);
    } finally {
      await second.close();
    }
    open();
    await expect(reconciler.sweep()).rejects.toThrow('the reconciler was stopped');
    expect(reconciler.last).toBeUndefined();
  });
});

describe('Restart after a move into place was undone (e2e)', () => {
  it('moves the bytes of a stored upload found back in staging again, instead of discarding them', async () => {
    const first = await createTestApp();
    const file = randomFile(30_000);
    const { body } = await request(first.server).post('/uploads').attach('file', file, 'undone.bin').expect(202);
    await first.uploads.waitUntilSettled(body.id);
    await first.close({ keepRoot: true });
    // What a power loss that kept the record's flush but not the rename would leave.
    const id: string = body.id;
    await rename(join(first.root, 'files', shardOf(id), id), join(first.root, 'staging', id));

    const second = await createTestApp(undefined, undefined, first.root);
    try {
      await second.app.get(UploadReconciler).sweep(); // joins the start-up sweep, which finds the bytes missing
      const record = await second.uploads.waitUntilSettled(id);
      expect(record).toMatchObject({ status: 'stored', sha256: sha256(file) });
      const download = await request(second.server).get(`/uploads/${id}/content`).responseType('blob').expect(200);
      expect(sha256(download.body as Buffer)).toBe(sha256(file));
      expect(await second.staged()).toEqual([]);
    } finally {
      await second.close();
    }
  });
});
