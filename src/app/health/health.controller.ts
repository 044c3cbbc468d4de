import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '../../uploads/http/openapi.js';
import { RedisHealthIndicator } from './redis.health.js';
import { StorageBackendHealthIndicator } from './storage-backend.health.js';
import { StorageHealthIndicator } from './storage.health.js';

/** What terminus answers with: the overall status, then each check's result by name. */
const CHECKS = {
  type: 'object',
  additionalProperties: { type: 'object', properties: { status: { type: 'string', enum: ['up', 'down'] } }, additionalProperties: true },
};
const HEALTH_SCHEMA = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['ok', 'error', 'shutting_down'] },
    info: { ...CHECKS, nullable: true },
    error: { ...CHECKS, nullable: true },
    details: CHECKS,
  },
};
const storage = (status: 'up' | 'down', extra: object = {}) => ({
  storage: { freeBytes: 79_556_182_016, totalBytes: 270_553_174_016, backlog: 0, ...extra, status },
});
const UP = { status: 'ok', info: storage('up'), error: {}, details: storage('up') };
const STORAGE_DOWN = storage('down', { message: "storage root not writable: EACCES: permission denied, open '/data/.probe-1'" });
const DOWN = { status: 'error', info: {}, error: STORAGE_DOWN, details: STORAGE_DOWN };

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
  // Described here rather than by terminus, whose description would load @nestjs/swagger at start-up.
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOkResponse({
    description: 'Every check passed',
    schema: HEALTH_SCHEMA,
    examples: { up: { summary: 'Every check passed', value: UP } },
  })
  @ApiServiceUnavailableResponse({
    description: 'A check failed (or the service is shutting down): `error` names it and says why',
    schema: HEALTH_SCHEMA,
    examples: { down: { summary: 'The storage root is not writable', value: DOWN } },
  })
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
