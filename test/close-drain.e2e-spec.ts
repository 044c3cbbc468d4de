import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { Redis } from 'ioredis';
import { LmdbRecordRepository } from '../src/records/lmdb-record.repository.js';
import { RedisRecordRepository } from '../src/records/redis-record.repository.js';
import type { UploadRecord } from '../src/domain/upload-record.js';
import { TEST_REDIS_URL, transportEnv, type TestTransport } from './support/redis.js';
import { createTestApp } from './support/test-app.js';

/** The record as the store holds it once the app is gone (nothing starts, so nothing re-drives it). */
async function storedRecord(
  transport: TestTransport,
  root: string,
  prefix: string | undefined,
  id: string,
): Promise<UploadRecord | undefined> {
  if (transport === 'memory') {
    const records = new LmdbRecordRepository(join(root, 'records.mdb'), false);
    await records.init();
    try {
      return await records.get(id);
    } finally {
      await records.onApplicationShutdown();
    }
  }
  const client = new Redis(TEST_REDIS_URL);
  try {
    return await new RedisRecordRepository(client, prefix!).get(id);
  } finally {
    await client.quit();
  }
}

describe.each<TestTransport>(['memory', 'bullmq'])('app.close() right after a programmatic upload (%s transport, e2e)', (transport) => {
  it('stores every upload accepted before close(), and delivers file.stored, by the time close() resolves', async () => {
    const { env, cleanup } = transportEnv(transport);
    const t = await createTestApp({ ...env, STORAGE_CONCURRENCY: 1 });
    try {
      const stored: string[] = [];
      t.app.get(EventEmitter2).on('file.stored', (event: { uploadId: string }) => stored.push(event.uploadId));
      const ids: string[] = [];
      for (const name of ['a', 'b', 'c'])
        ids.push((await t.uploads.upload(Readable.from([Buffer.from(`${name}\n`)]), { filename: `${name}.txt` })).id);

      await t.close({ keepRoot: true });

      expect([...stored].sort()).toEqual([...ids].sort());
      for (const id of ids) expect(await storedRecord(transport, t.root, env.REDIS_PREFIX, id)).toMatchObject({ status: 'stored' });
      expect(await readdir(join(t.root, 'staging'))).toEqual([]);
    } finally {
      await cleanup();
      await rm(t.root, { recursive: true, force: true });
    }
  });
});
