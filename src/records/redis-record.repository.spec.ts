import { Redis } from 'ioredis';
import { deleteKeysUnder, keysUnder, TEST_REDIS_URL, testRedisPrefix } from '../../test/support/redis.js';
import { recordRepositoryContract, sampleRecord } from '../../test/support/record-repository-contract.js';
import { RedisRecordRepository } from './redis-record.repository.js';

// Against the real Redis on 127.0.0.1:6379, under a prefix of its own that is removed afterwards.
describe('RedisRecordRepository', () => {
  const prefix = testRedisPrefix();
  let sut: RedisRecordRepository;
  let other: RedisRecordRepository;

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

  recordRepositoryContract(() => ({ writer: sut, reader: other }));

  describe('listing', () => {
    const listPrefix = testRedisPrefix();
    let repo: RedisRecordRepository;
    const ids: string[] = [];

    beforeAll(async () => {
      repo = new RedisRecordRepository(new Redis(TEST_REDIS_URL), listPrefix);
      for (let i = 0; i < 7; i += 1) {
        const r = sampleRecord();
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

  it('deletes a record with every index entry, once', async () => {
    const own = testRedisPrefix();
    const repo = new RedisRecordRepository(new Redis(TEST_REDIS_URL), own);
    try {
      const r = sampleRecord({ idempotencyKey: 'only-ü-😀' });
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
