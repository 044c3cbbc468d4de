import { Redis } from 'ioredis';
import { v7 as uuidv7 } from 'uuid';
import { deleteKeysUnder, keysUnder, TEST_REDIS_URL, testRedisPrefix } from '../../test/support/redis.js';
import type { UploadRecord } from '../domain/upload-record.js';
import { IdempotencyKeyTakenError } from '../domain/errors/idempotency-key-taken.error.js';
import { RedisRecordRepository } from './redis-record.repository.js';

// Against the real Redis on 127.0.0.1:6379, under a prefix of its own that is removed afterwards.
describe('RedisRecordRepository', () => {
  const prefix = testRedisPrefix();
  let sut: RedisRecordRepository;
  let other: RedisRecordRepository;

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

  beforeAll(() => {
    // Two connections stand for two processes.
    sut = new RedisRecordRepository(new Redis(TEST_REDIS_URL), prefix);
    other = new RedisRecordRepository(new Redis(TEST_REDIS_URL), prefix);
  });
  afterAll(async () => {
    await sut.onApplicationShutdown();
    await other.onApplicationShutdown();
    await deleteKeysUnder(prefix);
  });

  it('reads back exactly what was created, from another connection, and nothing for an unknown id', async () => {
    const created = record({ filename: 'résumé 报告 😀.txt', requestId: 'req-1', size: 1024 ** 3 + 7 });
    await sut.create(created);
    expect(await other.get(created.id)).toEqual(created);
    expect(await other.get(uuidv7())).toBeUndefined();
  });

  it('applies a transition only from an allowed status, removes fields patched to undefined, and reports what is there otherwise', async () => {
    const created = record({ status: 'failed', error: { code: 'IO_ERROR', message: 'disk' }, failedAt: new Date().toISOString() });
    await sut.create(created);

    const refused = await sut.transition(created.id, ['received', 'processing'], { status: 'processing' });
    expect(refused).toEqual({ ok: false, current: created });

    const retried = await sut.transition(created.id, ['failed'], {
      status: 'received',
      attempts: 0,
      error: undefined,
      failedAt: undefined,
    });
    expect(retried.ok).toBe(true);
    const after = await other.get(created.id);
    expect(after).toMatchObject({ status: 'received', attempts: 0 });
    expect(after).not.toHaveProperty('error');
    expect(after).not.toHaveProperty('failedAt');
    expect(after!.updatedAt >= created.updatedAt).toBe(true);

    expect(await sut.transition(uuidv7(), ['received'], { status: 'processing' })).toEqual({ ok: false, current: undefined });
  });

  it('lets exactly one of many concurrent transitions from two connections win: no lost update', async () => {
    const created = record();
    await sut.create(created);
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        (i % 2 ? sut : other).transition(created.id, ['received'], { status: 'processing', attempts: i + 1 }),
      ),
    );
    const winners = results.filter((r) => r.ok);
    expect(winners).toHaveLength(1);
    const stored = await sut.get(created.id);
    expect(stored).toEqual(winners[0].ok ? winners[0].record : undefined);
  });

  describe('listing', () => {
    const listPrefix = testRedisPrefix();
    let repo: RedisRecordRepository;
    const ids: string[] = [];

    beforeAll(async () => {
      repo = new RedisRecordRepository(new Redis(TEST_REDIS_URL), listPrefix);
      for (let i = 0; i < 7; i += 1) {
        const r = record();
        ids.push(r.id);
        await repo.create(r);
      }
      // Every other one moves on to stored: the per-status index follows the transition.
      for (const id of ids.filter((_, i) => i % 2 === 0)) await repo.transition(id, ['received'], { status: 'stored' });
    });
    afterAll(async () => {
      await repo.onApplicationShutdown();
      await deleteKeysUnder(listPrefix);
    });

    it('pages newest first with a cursor', async () => {
      const first = await repo.list({ limit: 3 });
      expect(first.map((r) => r.id)).toEqual([ids[6], ids[5], ids[4]]);
      const next = await repo.list({ limit: 3, before: first[2].id });
      expect(next.map((r) => r.id)).toEqual([ids[3], ids[2], ids[1]]);
      expect((await repo.list({ limit: 3, before: ids[0] })).length).toBe(0);
    });

    it('filters by status from the index, with the cursor', async () => {
      expect((await repo.list({ status: 'stored', limit: 10 })).map((r) => r.id)).toEqual([ids[6], ids[4], ids[2], ids[0]]);
      expect((await repo.list({ status: 'received', limit: 2, before: ids[5] })).map((r) => r.id)).toEqual([ids[3], ids[1]]);
      expect(await repo.list({ status: 'failed', limit: 10 })).toEqual([]);
    });

    it('finds by several statuses, oldest first', async () => {
      const found = await repo.findByStatus(['received', 'stored']);
      expect(found.map((r) => r.id)).toEqual(ids);
      expect((await repo.findByStatus(['received'])).map((r) => r.status)).toEqual(['received', 'received', 'received']);
    });
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

  it('claims an idempotency key atomically and frees it on delete', async () => {
    const first = record({ idempotencyKey: 'key-ü-1' });
    await sut.create(first);
    expect((await other.findByIdempotencyKey('key-ü-1'))?.id).toBe(first.id);
    expect(await other.findByIdempotencyKey('key-ü-2')).toBeUndefined();

    const racers = await Promise.allSettled([
      other.create(record({ idempotencyKey: 'key-ü-1' })),
      sut.create(record({ idempotencyKey: 'key-ü-1' })),
    ]);
    for (const r of racers) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(IdempotencyKeyTakenError);
      expect((r as PromiseRejectedResult).reason).toMatchObject({ existingId: first.id });
    }

    expect(await sut.delete(first.id)).toBe(true);
    expect(await other.findByIdempotencyKey('key-ü-1')).toBeUndefined();
    const second = record({ idempotencyKey: 'key-ü-1' });
    await other.create(second);
    expect((await sut.findByIdempotencyKey('key-ü-1'))?.id).toBe(second.id);
  });

  it('deletes a record with every index entry, once', async () => {
    const own = testRedisPrefix();
    const repo = new RedisRecordRepository(new Redis(TEST_REDIS_URL), own);
    try {
      const r = record({ idempotencyKey: 'only-ü-😀' });
      await repo.create(r);
      await repo.transition(r.id, ['received'], { status: 'processing' });
      expect((await keysUnder(own)).length).toBeGreaterThan(0);

      expect(await repo.delete(r.id)).toBe(true);
      expect(await repo.delete(r.id)).toBe(false);
      expect(await repo.get(r.id)).toBeUndefined();
      expect(await repo.list({ limit: 10 })).toEqual([]);
      expect(await keysUnder(own)).toEqual([]);
    } finally {
      await repo.onApplicationShutdown();
      await deleteKeysUnder(own);
    }
  });
});
