import { join } from 'node:path';
import type { Provider } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { LmdbRecordRepository } from '../../records/lmdb-record.repository.js';
import { UPLOAD_RECORD_REPOSITORY } from '../../records/upload-record-repository.interface.js';
import { LocalDiskStorage } from '../../storage/local-disk.storage.js';
import { StagingArea } from '../../storage/staging-area.js';
import { STORAGE_BACKEND, type StorageBackend } from '../../storage/storage-backend.interface.js';
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
import type { ResolvedS3Options } from './storage-placement.js';
import { resolveUploadsOptions, type ResolvedUploadsOptions, type UploadsModuleOptions } from './uploads.options.js';
import { UPLOADS_TOPOLOGY, type UploadsTopology } from './uploads.topology.js';
import { loadOptional } from '../../common/optional-package.js';

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
    useFactory: async (o: ResolvedUploadsOptions): Promise<StorageBackend> => {
      if (o.s3) return s3Storage(o.s3);
      const backend: StorageBackend = o.storage ?? new LocalDiskStorage(join(o.storageRoot, 'files'), o.durability === 'fsync');
      await backend.probe?.();
      return backend;
    },
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
        const { RedisUploadLocks } = await bullmqImport(() => import('../../records/redis-upload-locks.js'));
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

/**
 * The S3 backend, loaded only when chosen (the AWS SDK is imported here and nowhere else on the way
 * in), and checked before the module starts: a missing bucket or refused credentials stop start-up
 * with a message naming the bucket and endpoint (never the credentials).
 */
async function s3Storage(o: ResolvedS3Options): Promise<StorageBackend> {
  const { createS3Client, S3Storage } = await loadOptional(() => import('../../storage/s3.storage.js'), 'The s3 storage backend', [
    '@aws-sdk/client-s3',
  ]);
  const client = o.client ?? createS3Client(o);
  const endpoint = o.client ? await endpointOf(o.client) : (o.endpoint ?? `AWS S3 (${o.region})`);
  const storage = new S3Storage({
    client,
    bucket: o.bucket,
    prefix: o.prefix,
    partSize: o.partSize,
    partsInFlight: o.partsInFlight,
    endpoint,
    ownsClient: !o.client,
  });
  try {
    await storage.probe();
  } catch (err) {
    storage.onApplicationShutdown();
    throw new Error(`${(err as Error).message}; the s3 storage backend needs it to start`, { cause: err });
  }
  return storage;
}

/** Where a host's own client sends its requests, for messages. */
async function endpointOf(client: NonNullable<ResolvedS3Options['client']>): Promise<string> {
  const endpoint = await client.config.endpoint?.().catch(() => undefined);
  if (endpoint)
    return `${endpoint.protocol}//${endpoint.hostname}${endpoint.port ? `:${endpoint.port}` : ''}${endpoint.path === '/' ? '' : endpoint.path}`;
  return `AWS S3 (${await client.config.region().catch(() => 'region unknown')})`;
}
