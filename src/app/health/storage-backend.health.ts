import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { STORAGE_BACKEND, type StorageBackend } from '../../storage/storage-backend.interface.js';
import { RESOLVED_UPLOADS_OPTIONS } from '../../uploads/module/uploads.constants.js';
import type { ResolvedUploadsOptions } from '../../uploads/module/uploads.options.js';

/** A health check must answer even while the object store hangs. */
const PROBE_TIMEOUT_MS = 2_000;

/**
 * Up when the storage backend answers its probe in time (S3: HeadBucket on the bucket). Reported
 * as `s3` for the built-in S3 backend, `storageBackend` for a custom one with a probe; absent for
 * backends without one (the disk's health is the storage root's, see `StorageHealthIndicator`).
 */
@Injectable()
export class StorageBackendHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    @Inject(STORAGE_BACKEND) private readonly backend: StorageBackend,
    @Inject(RESOLVED_UPLOADS_OPTIONS) private readonly options: ResolvedUploadsOptions,
  ) {}

  get enabled(): boolean {
    return typeof this.backend.probe === 'function';
  }

  get key(): string {
    return this.options.s3 ? 's3' : 'storageBackend';
  }

  async isHealthy(key = this.key) {
    const indicator = this.health.check(key);
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.backend.probe!(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS);
        }),
      ]);
      return indicator.up({ latencyMs: Date.now() - started });
    } catch (err) {
      return indicator.down({ message: (err as Error).message });
    } finally {
      clearTimeout(timer);
    }
  }
}
