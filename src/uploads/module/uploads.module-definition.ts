import { type CanActivate, ConfigurableModuleBuilder, type Type } from '@nestjs/common';
import type { UploadsModuleOptions } from './uploads.options.js';
import { DEFAULT_TOPOLOGY, type TaskTransportKind, type UploadsRole } from './uploads.topology.js';

/** Options that change the module's shape, read by `UploadsModule` itself rather than injected. */
export interface UploadsModuleExtras {
  /** Register the module's providers globally (UploadsService injectable anywhere). @default false */
  isGlobal?: boolean;
  /** Route prefix of the HTTP API, e.g. `api/files`. @default 'uploads' */
  path?: string;
  /** Guards on every route of the module, on top of the host's global guards. @default [] */
  guards?: Array<Type<CanActivate> | CanActivate>;
  /**
   * `host`: the host app imports `EventEmitterModule.forRoot()` and the module uses its emitter.
   * `own`: the module brings a private emitter, for hosts that use no events themselves; host
   * `@OnEvent` listeners still receive the module's events. @default 'host'
   */
  eventEmitter?: UploadsEventEmitterMode;
  /**
   * How storage work travels: `memory` in this process, `bullmq` through a BullMQ queue in Redis
   * (needs the `redis` option; records move to Redis too). With `bullmq`, `forRootAsync` calls its
   * options factory twice: once for the module, once for its queue. @default 'memory'
   */
  transport?: TaskTransportKind;
  /** `all`: HTTP API and storage work; `api`: API and queueing only; `worker`: storage work only. @default 'all' */
  role?: UploadsRole;
}

export type UploadsEventEmitterMode = 'host' | 'own';

export const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: UPLOADS_MODULE_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<UploadsModuleOptions>({ moduleName: 'Uploads' })
  .setClassMethodName('forRoot')
  .setExtras<UploadsModuleExtras>(
    { isGlobal: false, path: 'uploads', guards: [], eventEmitter: 'host', ...DEFAULT_TOPOLOGY },
    (definition, extras) => ({
      ...definition,
      global: extras.isGlobal,
    }),
  )
  .build();
