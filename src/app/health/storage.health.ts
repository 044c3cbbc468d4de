import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { diskSpace } from '../../storage/disk-space.js';
import { TASK_TRANSPORT, type TaskTransport } from '../../tasks/task-transport.interface.js';
import { UploadReconciler } from '../../uploads/lifecycle/upload-reconciler.service.js';
import { RESOLVED_UPLOADS_OPTIONS } from '../../uploads/module/uploads.constants.js';
import type { ResolvedUploadsOptions } from '../../uploads/module/uploads.options.js';

/** Up when the storage root takes writes; reports free disk, the unstored backlog and the last sweep either way. */
@Injectable()
export class StorageHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly reconciler: UploadReconciler,
    @Inject(TASK_TRANSPORT) private readonly transport: TaskTransport,
    @Inject(RESOLVED_UPLOADS_OPTIONS) private readonly options: ResolvedUploadsOptions,
  ) {}

  async isHealthy(key = 'storage') {
    const indicator = this.health.check(key);
    const root = this.options.storageRoot;
    const [written, space] = await Promise.all([this.probeWrite(root), diskSpace(root).catch(() => ({ freeBytes: 0, totalBytes: 0 }))]);
    const details = {
      ...space,
      backlog: this.transport.backlog(),
      reconciliation: { last: this.reconciler.last, totals: this.reconciler.totals },
    };
    return written === true ? indicator.up(details) : indicator.down({ ...details, message: `storage root not writable: ${written}` });
  }

  /** Writes and removes a small file: true, or why it could not. */
  private async probeWrite(root: string): Promise<true | string> {
    const probe = join(root, `.probe-${process.pid}`);
    try {
      await writeFile(probe, 'ok');
      await rm(probe, { force: true });
      return true;
    } catch (err) {
      return (err as Error).message;
    }
  }
}
