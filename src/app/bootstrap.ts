import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { PinoLoggerService } from './logging/logging.module.js';
import { AppModule } from './app.module.js';
import { configureApp, exitOnSignals } from './app.setup.js';
import { ConfigurationError } from './config/configuration.error.js';
import type { EnvironmentVariables } from './config/environment.js';
import { StowageExpressAdapter } from './http-server.js';

/** The HTTP service (`main.ts`): listens on PORT and says where. */
export async function startService(): Promise<void> {
  const app = await NestFactory.create(AppModule.forRoot(), new StowageExpressAdapter(), { bufferLogs: true });
  configureApp(app);
  exitOnSignals(app);
  const port = app.get<ConfigService<EnvironmentVariables, true>>(ConfigService).get('PORT', { infer: true });
  await app.listen(port);
  const url = `http://localhost:${port}`;
  app.get(PinoLoggerService).log(
    {
      msg: `Stowage listening on ${url}: upload page ${url}/, API docs ${url}/docs`,
      event: 'service.started',
      url,
      docs: `${url}/docs`,
      page: `${url}/`,
    },
    'Stowage',
  );
}

/**
 * A storage worker (`worker.ts`): takes storage jobs from the BullMQ queue and opens no port. Needs
 * TASK_TRANSPORT=bullmq, REDIS_URL and the same UPLOAD_DIR volume as the API processes.
 */
export async function startWorker(): Promise<void> {
  const app = await NestFactory.createApplicationContext(AppModule.forRoot({ ROLE: 'worker' }), { bufferLogs: true });
  app.useLogger(app.get(PinoLoggerService));
  exitOnSignals(app);
}

/** Runs `start`; a configuration mistake ends the process with its one-line message and no stack trace. */
export async function run(start: () => Promise<void>): Promise<void> {
  try {
    await start();
  } catch (err) {
    if (!(err instanceof ConfigurationError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
}
