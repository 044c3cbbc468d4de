import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller.js';
import { RedisHealthIndicator } from './redis.health.js';
import { StorageBackendHealthIndicator } from './storage-backend.health.js';
import { StorageHealthIndicator } from './storage.health.js';

/** `GET /health`. Needs `UploadsService` from a global `UploadsModule`. */
@Module({
  imports: [TerminusModule],
  controllers: [HealthController],
  providers: [StorageHealthIndicator, RedisHealthIndicator, StorageBackendHealthIndicator],
})
export class HealthModule {}
