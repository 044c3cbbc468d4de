import { Inject, Injectable, Optional } from '@nestjs/common';
import pTimeout from 'p-timeout';
import { HealthIndicatorService } from '@nestjs/terminus';
import type { Redis } from 'ioredis';
import { UPLOADS_REDIS } from '../../uploads/module/bullmq.providers.js';

/** A health check must answer even while Redis hangs. */
const PING_TIMEOUT_MS = 1_000;

/**
 * Up when the Redis of the `bullmq` transport answers a PING in time (queue and records live
 * there, so nothing moves without it). Absent with the `memory` transport: see `enabled`.
 */
@Injectable()
export class RedisHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    @Optional() @Inject(UPLOADS_REDIS) private readonly redis?: Redis,
  ) {}

  get enabled(): boolean {
    return this.redis !== undefined;
  }

  async isHealthy(key = 'redis') {
    const indicator = this.health.check(key);
    if (!this.redis) return indicator.down({ message: 'no Redis configured' });
    if (this.redis.status !== 'ready') return indicator.down({ message: `Redis connection is ${this.redis.status}` });
    const started = Date.now();
    try {
      await pTimeout(this.redis.ping(), { milliseconds: PING_TIMEOUT_MS, message: `no PING answer within ${PING_TIMEOUT_MS} ms` });
      return indicator.up({ latencyMs: Date.now() - started });
    } catch (err) {
      return indicator.down({ message: (err as Error).message });
    }
  }
}
