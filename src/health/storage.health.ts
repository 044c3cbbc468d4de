import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { UploadReconciler } from '../uploads/upload-reconciler.service.js';
import { UploadsService } from '../uploads/uploads.service.js';

/** Up when the storage root takes writes; reports free disk and the unstored backlog either way. */
@Injectable()
export class StorageHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly uploads: UploadsService,
    private readonly reconciler: UploadReconciler,
  ) {}

  async isHealthy(key = 'storage') {
    const indicator = this.health.check(key);
    const probe = await this.uploads.probeStorage();
    const details = {
      freeBytes: probe.freeBytes,
      totalBytes: probe.totalBytes,
      backlog: this.uploads.backlog(),
      reconciliation: { last: this.reconciler.last, totals: this.reconciler.totals },
    };
    return probe.writable ? indicator.up(details) : indicator.down({ ...details, message: `storage root not writable: ${probe.error}` });
  }
}
