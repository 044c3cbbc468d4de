import { Controller, type DynamicModule, Module, UseGuards } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { UPLOAD_RECORD_REPOSITORY } from '../../records/upload-record-repository.interface.js';
import { STORAGE_BACKEND } from '../../storage/storage-backend.interface.js';
import { TASK_TRANSPORT } from '../../tasks/task-transport.interface.js';
import { UploadController } from '../http/upload.controller.js';
import { TusController } from '../http/tus.controller.js';
import { ResumableUploadsService } from '../resumable-uploads.service.js';
import { UploadAdmission } from '../lifecycle/upload-admission.service.js';
import { UploadReconciler } from '../lifecycle/upload-reconciler.service.js';
import { UploadStatusService } from '../upload-status.service.js';
import { UploadsService } from '../uploads.service.js';
import { bullMqProviders, storageQueue, storageQueueAsync, UPLOADS_REDIS } from './bullmq.providers.js';
import { RESOLVED_UPLOADS_OPTIONS } from './uploads.constants.js';
import { ASYNC_OPTIONS_TYPE, ConfigurableModuleClass, OPTIONS_TYPE, type UploadsModuleExtras } from './uploads.module-definition.js';
import { resolveUploadsExtras } from './uploads.options.js';
import { uploadsProviders } from './uploads.providers.js';
import { UPLOADS_TOPOLOGY, type UploadsTopology } from './uploads.topology.js';

/**
 * Event-driven file uploads: `POST /{path}` streams to staging and answers 202, `FileStorageService`
 * stores in the background. The host owns `EventEmitterModule.forRoot()` (unless `eventEmitter: 'own'`)
 * and the logger.
 */
// The public API first; the rest is what the standalone app's health and metrics read.
@Module({
  providers: uploadsProviders,
  exports: [
    UploadsService,
    ResumableUploadsService,
    UploadStatusService,
    STORAGE_BACKEND,
    UPLOAD_RECORD_REPOSITORY,
    UploadReconciler,
    UploadAdmission,
    TASK_TRANSPORT,
    RESOLVED_UPLOADS_OPTIONS,
  ],
})
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
function mount(
  module: DynamicModule,
  extras: UploadsModuleExtras,
  queue: (topology: UploadsTopology) => Promise<DynamicModule>,
): DynamicModule {
  const { path, guards, eventEmitter, transport, role } = resolveUploadsExtras(extras);
  const topology: UploadsTopology = { transport, role };
  class MountedUploadController extends UploadController {}
  Controller(path)(MountedUploadController);
  if (guards.length > 0) UseGuards(...guards)(MountedUploadController);
  class MountedTusController extends TusController {}
  Controller(`${path}/tus`)(MountedTusController);
  if (guards.length > 0) UseGuards(...guards)(MountedTusController);
  // Not global: the private emitter must not replace the host's EventEmitter2 if it has one too.
  const imports =
    eventEmitter === 'own' ? [...(module.imports ?? []), EventEmitterModule.forRoot({ global: false })] : [...(module.imports ?? [])];
  const providers = [...(module.providers ?? []), { provide: UPLOADS_TOPOLOGY, useValue: topology }];
  const exports = [...(module.exports ?? [])];
  if (transport === 'bullmq') {
    imports.push(queue(topology));
    providers.push(...bullMqProviders(role));
    exports.push(UPLOADS_REDIS);
  }
  // The tus routes first: their paths are deeper than, and must not be taken for, `{path}/:id`.
  const controllers = role === 'worker' ? [] : [MountedTusController, MountedUploadController];
  return { ...module, imports, providers, exports, controllers };
}
