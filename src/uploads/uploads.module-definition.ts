import { type CanActivate, ConfigurableModuleBuilder, type Type } from '@nestjs/common';
import type { UploadsModuleOptions } from './uploads.options.js';

/** Options that change the module's shape, read by `UploadsModule` itself rather than injected. */
export interface UploadsModuleExtras {
  /** Register the module's providers globally (UploadsService injectable anywhere). @default false */
  isGlobal?: boolean;
  /** Route prefix of the HTTP API, e.g. `api/files`. @default 'uploads' */
  path?: string;
  /** Guards on every route of the module, on top of the host's global guards. @default [] */
  guards?: Array<Type<CanActivate> | CanActivate>;
}

export const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: UPLOADS_MODULE_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<UploadsModuleOptions>({ moduleName: 'Uploads' })
  .setClassMethodName('forRoot')
  .setExtras<UploadsModuleExtras>({ isGlobal: false, path: 'uploads', guards: [] }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
