import { join } from 'node:path';
import type { Provider } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { LmdbRecordRepository } from '../../records/lmdb-record.repository.js';
import { UPLOAD_RECORD_REPOSITORY } from '../../records/upload-record-repository.interface.js';
import { LocalDiskStorage } from '../../storage/local-disk.storage.js';
import { StagingArea } from '../../storage/staging-area.js';
import { STORAGE_BACKEND } from '../../storage/storage-backend.interface.js';
import { BullMqTransport } from '../../tasks/bullmq.transport.js';
import { InProcessTransport } from '../../tasks/in-process.transport.js';
import { TASK_TRANSPORT } from '../../tasks/task-transport.interface.js';
import { UploadEventsPublisher } from '../events/upload-events.publisher.js';
import { FileStorageService } from '../file-storage.service.js';
import { UploadInterceptor } from '../http/upload.interceptor.js';
import { UploadAdmission } from '../lifecycle/upload-admission.service.js';
import { UploadReconciler } from '../lifecycle/upload-reconciler.service.js';
import { UploadRecoveryService } from '../lifecycle/upload-recovery.service.js';
import { UploadRedriver } from '../lifecycle/upload-redriver.service.js';
import { UploadStatusService } from '../upload-status.service.js';
import { UploadsService } from '../uploads.service.js';
import { ResumableUploadsService } from '../resumable-uploads.service.js';
import { ResumableStaging } from '../../storage/resumable-staging.js';
import { InProcessUploadLocks, UPLOAD_LOCKS } from '../../records/upload-locks.interface.js';
import { bullmqImport, UPLOADS_QUEUE_TOKEN, UPLOADS_REDIS } from './bullmq.providers.js';
import { RESOLVED_UPLOADS_OPTIONS } from './uploads.constants.js';
import { UPLOADS_MODULE_OPTIONS } from './uploads.module-definition.js';
import { resolveUploadsOptions, type ResolvedUploadsOptions, type UploadsModuleOptions } from './uploads.options.js';
import { UPLOADS_TOPOLOGY, type UploadsTopology } from './uploads.topology.js';

/** Every provider of an `UploadsModule` instance; the ports are resolved from its options here, in one place. */
export const uploadsProviders: Provider[] = [
  {
    provide: RESOLVED_UPLOADS_OPTIONS,
    inject: [UPLOADS_MODULE_OPTIONS, UPLOADS_TOPOLOGY],
    useFactory: (options: UploadsModuleOptions, topology: UploadsTopology) => resolveUploadsOptions(options, topology),
  },
  {
    provide: StagingArea,
    inject: [RESOLVED_UPLOADS_OPTIONS],
    useFactory: async (o: ResolvedUploadsOptions) => {
      const staging = new StagingArea(join(o.storageRoot, 'staging'), o.durability === 'fsync');
      await staging.init();
      return staging;
    },
  },
  {
    provide: STORAGE_BACKEND,
    inject: [RESOLVED_UPLOADS_OPTIONS],
    useFactory: (o: ResolvedUploadsOptions) => o.storage ?? new LocalDiskStorage(join(o.storageRoot, 'files'), o.durability === 'fsync'),
  },
  {
    provide: UPLOAD_RECORD_REPOSITORY,
    inject: [RESOLVED_UPLOADS_OPTIONS, { token: UPLOADS_REDIS, optional: true }],
    useFactory: async (o: ResolvedUploadsOptions, redis?: Redis) => {
      // Processes that share a queue must share records: with bullmq they live in Redis.
      if (o.transport === 'bullmq') {
        const { RedisRecordRepository } = await bullmqImport(() => import('../../records/redis-record.repository.js'));
        return new RedisRecordRepository(redis!, o.redis!.prefix);
      }
      const records = new LmdbRecordRepository(join(o.storageRoot, 'records.mdb'), o.durability === 'fsync');
      await records.init();
      return records;
    },
  },
  {
    provide: TASK_TRANSPORT,
    inject: [RESOLVED_UPLOADS_OPTIONS, { token: UPLOADS_QUEUE_TOKEN, optional: true }],
    useFactory: (o: ResolvedUploadsOptions, queue?: Queue) =>
      o.transport === 'bullmq' ? new BullMqTransport(queue!, o.retry) : new InProcessTransport(o.storageConcurrency, o.retry),
  },
  {
    provide: ResumableStaging,
    inject: [StagingArea, RESOLVED_UPLOADS_OPTIONS],
    useFactory: (staging: StagingArea, o: ResolvedUploadsOptions) => new ResumableStaging(staging, o.durability === 'fsync'),
  },
  {
    provide: UPLOAD_LOCKS,
    inject: [RESOLVED_UPLOADS_OPTIONS, { token: UPLOADS_REDIS, optional: true }],
    useFactory: async (o: ResolvedUploadsOptions, redis?: Redis) => {
      // Several API processes may take chunks of one upload: with bullmq the lock lives in Redis.
      if (o.transport === 'bullmq') {
        const { RedisUploadLocks } = await import('../../records/redis-upload-locks.js');
        return new RedisUploadLocks(redis!, o.redis!.prefix);
      }
      return new InProcessUploadLocks();
    },
  },
  ResumableUploadsService,
  UploadEventsPublisher,
  FileStorageService,
  UploadsService,
  UploadStatusService,
  UploadRecoveryService,
  UploadAdmission,
  UploadReconciler,
  UploadRedriver,
  UploadInterceptor,
];
