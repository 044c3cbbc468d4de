import { type DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { ApiKeyGuard } from './auth/api-key.guard.js';
import { type EnvironmentVariables, validateEnv } from './config/environment.js';
import { loggerOptionsFromEnv } from './config/logger.config.js';
import { LoggingModule } from './logging/logging.module.js';
import { uploadsOptionsFromEnv, uploadsTopologyFromEnv } from './config/uploads.config.js';
import { HealthModule } from './health/health.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { UploadsModule } from '../uploads/module/uploads.module.js';
import { UploadPageModule } from './web/upload-page.module.js';

/** The standalone service: the same UploadsModule a host would embed, configured from the environment. */
@Module({})
export class AppModule {
  /** `overrides` win over the environment; tests use them to get a private storage root. */
  static forRoot(overrides: Partial<Record<keyof EnvironmentVariables, string | number | boolean>> = {}): DynamicModule {
    // Checked once, here: the module's shape (transport, role) and every provider read the same result.
    const env = validateEnv({ ...process.env, ...overrides });
    return {
      module: AppModule,
      imports: [
        // Validated config is kept to itself: `validate` would also copy every value into process.env,
        // leaking one app's settings into the next one started in the same process (tests do that).
        ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, skipProcessEnv: true, load: [() => env] }),
        LoggingModule.forRootAsync({ inject: [ConfigService], useFactory: loggerOptionsFromEnv }),
        EventEmitterModule.forRoot(),
        UploadsModule.forRoot({ isGlobal: true, guards: [ApiKeyGuard], ...uploadsTopologyFromEnv(env), ...uploadsOptionsFromEnv(env) }),
        HealthModule,
        MetricsModule,
        UploadPageModule,
      ],
    };
  }
}
