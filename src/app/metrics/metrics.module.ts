import { Module } from '@nestjs/common';
import { MetricsController } from './metrics.controller.js';
import { UploadMetricsService } from './upload-metrics.service.js';

/**
 * The standalone service's `GET /metrics`. Needs `UploadsService` from a global `UploadsModule` and
 * the host's `EventEmitterModule`; a host that embeds the module can import this one the same way.
 */
@Module({ controllers: [MetricsController], providers: [UploadMetricsService], exports: [UploadMetricsService] })
export class MetricsModule {}
