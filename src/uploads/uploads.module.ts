import { join } from 'node:path';
import { Controller, type DynamicModule, Module, type Provider, UseGuards } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { LmdbRecordRepository } from '../records/lmdb-record.repository.js';
import { UPLOAD_RECORD_REPOSITORY } from '../records/upload-record-repository.interface.js';
import { LocalDiskStorage } from '../storage/local-disk.storage.js';
import { StagingArea } from '../storage/staging-area.js';
import { STORAGE_BACKEND } from '../storage/storage-backend.interface.js';
import { bullMqProviders, storageQueue, storageQueueAsync, UPLOADS_QUEUE_TOKEN, UPLOADS_REDIS } from '../tasks/bullmq.providers.js';
import { BullMqTransport } from '../tasks/bullmq.transport.js';
import { InProcessTransport } from '../tasks/in-process.transport.js';
import { TASK_TRANSPORT } from '../tasks/task-transport.interface.js';
import { FileStorageService } from './file-storage.service.js';
import { UploadController } from './http/upload.controller.js';
import { UploadInterceptor } from './http/upload.interceptor.js';
import { UploadEventsPublisher } from './upload-events.publisher.js';
import { UploadAdmission } from './upload-admission.service.js';
import { UploadReconciler } from './upload-reconciler.service.js';
import { UploadRecoveryService } from './upload-recovery.service.js';
import { UploadStatusService } from './upload-status.service.js';
import { RESOLVED_UPLOADS_OPTIONS } from './uploads.constants.js';
import {
  ASYNC_OPTIONS_TYPE,
  ConfigurableModuleClass,
  OPTIONS_TYPE,
  UPLOADS_MODULE_OPTIONS,
  type UploadsModuleExtras,
} from './uploads.module-definition.js';
import { resolveUploadsExtras, resolveUploadsOptions, type ResolvedUploadsOptions, type UploadsModuleOptions } from './uploads.options.js';
import { UploadsService } from './uploads.service.js';
import { UPLOADS_TOPOLOGY, type UploadsTopology } from './uploads.topology.js';

const providers: Provider[] = [
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
        const { RedisRecordRepository } = await import('../records/redis-record.repository.js');
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
  UploadEventsPublisher,
  FileStorageService,
  UploadsService,
  UploadStatusService,
  UploadRecoveryService,
  UploadAdmission,
  UploadReconciler,
  UploadInterceptor,
];

/**
 * Event-driven file uploads: `POST /{path}` streams to staging and answers 202, `FileStorageService`
 * stores in the background. The host owns `EventEmitterModule.forRoot()` (unless `eventEmitter: 'own'`)
 * and the logger.
 */
@Module({ providers, exports: [UploadsService, UploadStatusService, UploadReconciler, STORAGE_BACKEND, UPLOAD_RECORD_REPOSITORY] })
export class UploadsModule extends ConfigurableModuleClass {
  static forRoot(options: typeof OPTIONS_TYPE): DynamicModule {
    return mount(super.forRoot(options), options, (topology) => storageQueue(options, topology));
  }

  static forRootAsync(options: typeof ASYNC_OPTIONS_TYPE): DynamicModule {
    return mount(super.forRootAsync(options), options, (topology) => storageQueueAsync(options, topology));
  }
}

/**
 * Applies the extras that change the module's shape. A subclass per module instance carries the
 * route prefix and guards, so two mounts never share metadata. `transport` adds the queue and its
 * providers; `role` drops the routes (`worker`) or the queue worker (`api`).
 */
function mount(module: DynamicModule, extras: UploadsModuleExtras, queue: (topology: UploadsTopology) => Promise<DynamicModule>): DynamicModule {
  const { path, guards, eventEmitter, transport, role } = resolveUploadsExtras(extras);
  const topology: UploadsTopology = { transport, role };
  class MountedUploadController extends UploadController {}
  Controller(path)(MountedUploadController);
  if (guards.length > 0) UseGuards(...guards)(MountedUploadController);
  // Not global: the private emitter must not replace the host's EventEmitter2 if it has one too.
  const imports = eventEmitter === 'own' ? [...(module.imports ?? []), EventEmitterModule.forRoot({ global: false })] : [...(module.imports ?? [])];
  const providers = [...(module.providers ?? []), { provide: UPLOADS_TOPOLOGY, useValue: topology }];
  const exports = [...(module.exports ?? [])];
  if (transport === 'bullmq') {
    imports.push(queue(topology));
    providers.push(...bullMqProviders(role));
    exports.push(UPLOADS_REDIS);
  }
  const controllers = role === 'worker' ? [] : [MountedUploadController];
  return { ...module, imports, providers, exports, controllers };
}
