import { randomUUID } from 'node:crypto';

import type { Redis } from 'ioredis';
import type { UploadLocks } from './upload-locks.interface.js';
import { StructuredLogger } from '../common/structured-logger.js';

/** KEYS: lock. ARGV: token, ttl ms. Extends the lock only while this token holds it. */
const RENEW_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;

/** KEYS: lock. ARGV: token. Removes the lock only while this token holds it. */
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * Locks shared by every API process of a deployment (`<prefix>:upload-lock:<id>`), so a client that
 * resumes through another process still has one writer. A lock lives `ttlMs` and is renewed every
 * third of it while its request runs; a process that dies holding one frees it when it lapses.
 */
export class RedisUploadLocks implements UploadLocks {
  private readonly logger = new StructuredLogger(RedisUploadLocks.name);

  constructor(
    private readonly client: Redis,
    private readonly prefix: string,
    private readonly ttlMs = 30_000,
  ) {}

  async acquire(id: string): Promise<(() => Promise<void>) | undefined> {
    const key = `${this.prefix}:upload-lock:${id}`;
    const token = randomUUID();
    if ((await this.client.set(key, token, 'PX', this.ttlMs, 'NX')) !== 'OK') return undefined;
    const renewal = setInterval(() => {
      this.client.eval(RENEW_SCRIPT, 1, key, token, this.ttlMs).catch((err: unknown) => {
        this.logger.warn({ msg: 'could not renew an upload lock', event: 'upload.lock_renew_failed', uploadId: id, err });
      });
    }, this.ttlMs / 3);
    renewal.unref();
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      clearInterval(renewal);
      await this.client.eval(RELEASE_SCRIPT, 1, key, token);
    };
  }
}
