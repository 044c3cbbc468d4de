import type { INestApplication, LoggerService, Provider } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { UploadsService } from 'stowage';
import { createTempStorageRoot } from 'stowage/testing';
import { AppModule } from './app.module.js';

export interface HostApp {
  app: INestApplication;
  uploads: UploadsService;
  close(): Promise<void>;
}

/** The whole app on a storage root of its own, removed again by `close()`. */
export async function startHostApp(options: { logger?: LoggerService; providers?: Provider[] } = {}): Promise<HostApp> {
  const root = await createTempStorageRoot();
  process.env.FILES_DIR = root.path;
  const app = await Test.createTestingModule({ imports: [AppModule], providers: options.providers })
    .compile()
    .then((moduleRef) => moduleRef.createNestApplication({ logger: options.logger }).init())
    .catch(async (err: unknown) => {
      await root.cleanup();
      throw err;
    });
  return {
    app,
    uploads: app.get(UploadsService),
    async close() {
      await app.close();
      await root.cleanup();
    },
  };
}
