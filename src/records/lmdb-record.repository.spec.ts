import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import type { UploadRecord } from '../domain/upload-record.js';
import { IdempotencyKeyTakenError } from '../domain/errors/idempotency-key-taken.error.js';
import { LmdbRecordRepository } from './lmdb-record.repository.js';

// Against a real LMDB file in a temporary directory.
describe('LmdbRecordRepository', () => {
  let dir: string;
  let sut: LmdbRecordRepository;

  const record = (patch: Partial<UploadRecord> = {}): UploadRecord => {
    const now = new Date().toISOString();
    return {
      id: uuidv7(),
      status: 'received',
      filename: 'a.bin',
      mimeType: 'application/octet-stream',
      size: 3,
      sha256: 'ab'.repeat(32),
      receivedAt: now,
      updatedAt: now,
      attempts: 0,
      ...patch,
    };
  };

  const open = async () => {
    const repo = new LmdbRecordRepository(join(dir, 'records.mdb'), true);
    await repo.init();
    return repo;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stowage-lmdb-'));
    sut = await open();
  });
  afterEach(async () => {
    await sut.onApplicationShutdown();
    await rm(dir, { recursive: true, force: true });
  });

  it('reads back exactly what was created, after the store is closed and opened again', async () => {
    const created = record({ filename: 'résumé 报告 😀.txt', requestId: 'req-1', size: 1024 ** 3 + 7 });
    await sut.create(created);
    await sut.onApplicationShutdown();
    sut = await open();
    expect(await sut.get(created.id)).toEqual(created);
    expect(await sut.get(uuidv7())).toBeUndefined();
  });

  it('applies a transition only from an allowed status, removes fields patched to undefined, and reports what is there otherwise', async () => {
    const created = record({ status: 'failed', error: { code: 'IO_ERROR', message: 'disk' }, failedAt: new Date().toISOString() });
    await sut.create(created);

    expect(await sut.transition(created.id, ['received', 'processing'], { status: 'processing' })).toEqual({ ok: false, current: created });

    const retried = await sut.transition(created.id, ['failed'], {
      status: 'received',
      attempts: 0,
      error: undefined,
      failedAt: undefined,
    });
    expect(retried.ok).toBe(true);
    const after = await sut.get(created.id);
    expect(after).toMatchObject({ status: 'received', attempts: 0 });
    expect(after).not.toHaveProperty('error');
    expect(after).not.toHaveProperty('failedAt');

    expect(await sut.transition(uuidv7(), ['received'], { status: 'processing' })).toEqual({ ok: false, current: undefined });
  });

  it('lets exactly one of many concurrent transitions win, durable or not: no lost update', async () => {
    const created = record();
    await sut.create(created);
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        sut.transition(created.id, ['received'], { status: 'processing', attempts: i + 1 }, { durable: i % 2 === 0 }),
      ),
    );
    const winners = results.filter((r) => r.ok);
    expect(winners).toHaveLength(1);
    expect(await sut.get(created.id)).toEqual(winners[0].ok && winners[0].record);
  });

  it('lists newest first in pages, by status through its index, and finds unsettled records oldest first', async () => {
    const made: UploadRecord[] = [];
    for (let i = 0; i < 7; i++) {
      const r = record({ filename: `f${i}` });
      made.push(r);
      await sut.create(r);
    }
    await sut.transition(made[1].id, ['received'], { status: 'stored' });
    await sut.transition(made[4].id, ['received'], { status: 'stored' });
    await sut.transition(made[5].id, ['received'], { status: 'processing' }, { durable: false });
    const ids = (rs: UploadRecord[]) => rs.map((r) => r.filename);

    const first = await sut.list({ limit: 3 });
    expect(ids(first)).toEqual(['f6', 'f5', 'f4']);
    expect(ids(await sut.list({ limit: 3, before: first[2].id }))).toEqual(['f3', 'f2', 'f1']);
    expect(ids(await sut.list({ limit: 3, status: 'stored' }))).toEqual(['f4', 'f1']);
    expect(ids(await sut.list({ limit: 1, status: 'stored', before: made[4].id }))).toEqual(['f1']);
    expect(await sut.list({ limit: 5, status: 'failed' })).toEqual([]);
    expect(ids(await sut.findByStatus(['received', 'processing']))).toEqual(['f0', 'f2', 'f3', 'f5', 'f6']);

    expect(await sut.delete(made[4].id)).toBe(true);
    expect(await sut.delete(made[4].id)).toBe(false);
    expect(ids(await sut.list({ limit: 3, status: 'stored' }))).toEqual(['f1']);
  });

  it('keeps a resumable upload: status receiving with its offset and protocol state, counted and listed by status, until it is received', async () => {
    const receiving = record({
      status: 'receiving',
      size: 10,
      sha256: '',
      offset: 10,
      length: 100,
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
      resumable: { metadata: 'filename YS5iaW4=', declaredMimeType: 'text/plain', pendingFrom: 10 },
    });
    await sut.create(receiving);
    expect(await sut.countByStatus('receiving')).toBe(1);
    expect((await sut.list({ status: 'receiving', limit: 10 })).map((r) => r.id)).toEqual([receiving.id]);
    const moved = await sut.transition(receiving.id, ['receiving'], {
      offset: 60,
      size: 60,
      resumable: { metadata: 'filename YS5iaW4=', typeChecked: true, pendingFrom: undefined },
    });
    expect(moved.ok && moved.record).toMatchObject({ status: 'receiving', offset: 60, resumable: { typeChecked: true } });
    expect((await sut.get(receiving.id))?.resumable).toEqual({ metadata: 'filename YS5iaW4=', typeChecked: true });
    const done = await sut.transition(receiving.id, ['receiving'], {
      status: 'received',
      size: 100,
      offset: undefined,
      expiresAt: undefined,
    });
    expect(done.ok && done.record.offset).toBeUndefined();
    expect(await sut.countByStatus('receiving')).toBe(0);
    expect(await sut.countByStatus('received')).toBeGreaterThanOrEqual(1);
  });

  it('claims an idempotency key once, atomically, and frees it when its upload is deleted', async () => {
    const owner = record({ idempotencyKey: 'k-1' });
    const contenders = Array.from({ length: 5 }, () => record({ idempotencyKey: 'k-1' }));
    const outcomes = await Promise.allSettled([owner, ...contenders].map((r) => sut.create(r)));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(IdempotencyKeyTakenError);
    const holder = await sut.findByIdempotencyKey('k-1');
    expect(holder).toBeDefined();
    expect(await sut.findByIdempotencyKey('k-2')).toBeUndefined();

    await sut.delete(holder!.id);
    expect(await sut.findByIdempotencyKey('k-1')).toBeUndefined();
    const next = record({ idempotencyKey: 'k-1' });
    await sut.create(next);
    expect((await sut.findByIdempotencyKey('k-1'))?.id).toBe(next.id);
  });
});
