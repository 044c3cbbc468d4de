import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '../../uploads/http/openapi.js';
import { Registry } from 'prom-client';
import { UploadMetricsService } from './upload-metrics.service.js';

/** `GET /metrics` in the Prometheus text exposition format. */
@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: UploadMetricsService) {}

  @Get()
  @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
  @Header('Cache-Control', 'no-store')
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
