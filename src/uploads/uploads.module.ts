import { join } from 'node:path';
import { Controller, type DynamicModule, Module, type Provider, UseGuards } from '@nestjs/common';
import { FileRecordRepository } from '../records/file-record.repository.js';
import { UPLOAD_RECORD_REPOSITORY } from '../records/upload-record-repository.interface.js';
import { LocalDiskStorage } from '../storage/local-disk.storage.js';
import { StagingArea } from '../storage/staging-area.js';
import { STORAGE_BACKEND } from '../storage/storage-backend.interface.js';
import { InProcessTransport } from '../tasks/in-process.transport.js';
import { TASK_TRANSPORT } from '../tasks/task-transport.interface.js';
import { FileStorageService } from './file-storage.service.js';
import { UploadController } from './http/upload.controller.js';
import { UploadInterceptor } from './http/upload.interceptor.js';
import { UploadEventsPublisher } from './upload-events.publisher.js';
import { UploadRecoveryService } from './upload-recovery.service.js';
import { RESOLVED_UPLOADS_OPTIONS } from './uploads.constants.js';
import {
  ASYNC_OPTIONS_TYPE,
  ConfigurableModuleClass,
  OPTIONS_TYPE,
  UPLOADS_MODULE_OPTIONS,
  type UploadsModuleExtras,
} from './uploads.module-definition.js';
import { resolveUploadsOptions, type ResolvedUploadsOptions, type UploadsModuleOptions } from './uploads.options.js';
import { UploadsService } from './uploads.service.js';

const providers: Provider[] = [
  {
    provide: RESOLVED_UPLOADS_OPTIONS,
    inject: [UPLOADS_MODULE_OPTIONS],
    useFactory: (options: UploadsModuleOptions) => resolveUploadsOptions(options),
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
    inject: [RESOLVED_UPLOADS_OPTIONS],
    useFactory: async (o: ResolvedUploadsOptions) => {
      const records = new FileRecordRepository(join(o.storageRoot, 'records'), o.durability === 'fsync');
      await records.init();
      return records;
    },
  },
  {
    provide: TASK_TRANSPORT,
    inject: [RESOLVED_UPLOADS_OPTIONS],
    useFactory: (o: ResolvedUploadsOptions) => new InProcessTransport(o.storageConcurrency, o.retry),
  },
  UploadEventsPublisher,
  FileStorageService,
  UploadsService,
  UploadRecoveryService,
  UploadInterceptor,
];

/**
 * Event-driven file uploads: `POST /{path}` streams to staging and answers 202, `FileStorageService`
 * stores in the background. The host owns `EventEmitterModule.forRoot()` and the logger.
 */
@Module({ providers, exports: [UploadsService, STORAGE_BACKEND, UPLOAD_RECORD_REPOSITORY] })
export class UploadsModule extends ConfigurableModuleClass {
  static forRoot(options: typeof OPTIONS_TYPE): DynamicModule {
    return withController(super.forRoot(options), options.path, options.guards);
  }

  static forRootAsync(options: typeof ASYNC_OPTIONS_TYPE): DynamicModule {
    return withController(super.forRootAsync(options), options.path, options.guards);
  }
}

/** A subclass per module instance carries the route prefix, so two mounts never share metadata. */
function withController(module: DynamicModule, path = 'uploads', guards: UploadsModuleExtras['guards'] = []): DynamicModule {
  class MountedUploadController extends UploadController {}
  Controller(path.replace(/^\/+|\/+$/g, ''))(MountedUploadController);
  if (guards.length > 0) UseGuards(...guards)(MountedUploadController);
  return { ...module, controllers: [MountedUploadController] };
}
