import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { RedisHealthIndicator } from './redis.health.js';
import { StorageBackendHealthIndicator } from './storage-backend.health.js';
import { StorageHealthIndicator } from './storage.health.js';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly storage: StorageHealthIndicator,
    private readonly redis: RedisHealthIndicator,
    private readonly backend: StorageBackendHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  @ApiOperation({
    summary:
      'Storage root writable, free disk, backlog; Redis reachable with the bullmq transport; the S3 bucket reachable with the s3 backend',
  })
  check() {
    return this.health.check([
      () => this.storage.isHealthy('storage'),
      ...(this.redis.enabled ? [() => this.redis.isHealthy('redis')] : []),
      ...(this.backend.enabled ? [() => this.backend.isHealthy()] : []),
    ]);
  }
}
