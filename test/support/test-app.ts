import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { Test, type TestingModuleBuilder } from '@nestjs/testing';
import { AppModule } from '../../src/app/app.module.js';
import { configureApp } from '../../src/app/app.setup.js';
import { StowageExpressAdapter } from '../../src/app/http-server.js';
import { UploadsService } from '../../src/uploads/uploads.service.js';

export interface TestApp {
  app: INestApplication;
  /** The node:http server, for supertest. */
  server: ReturnType<INestApplication['getHttpServer']>;
  uploads: UploadsService;
  root: string;
  /** Names in the staging area: empty whenever no upload is in flight or waiting. */
  staged(): Promise<string[]>;
  close(options?: { keepRoot?: boolean }): Promise<void>;
}

export type EnvOverrides = Parameters<typeof AppModule.forRoot>[0];

/**
 * The real standalone app on a private temporary storage root (or `root`, to restart on one).
 * `customize` can override providers, e.g. the storage backend with a controllable fake.
 */
export async function createTestApp(
  env: EnvOverrides = {},
  customize: (builder: TestingModuleBuilder) => TestingModuleBuilder = (b) => b,
  root?: string,
): Promise<TestApp> {
  const storageRoot = root ?? (await mkdtemp(join(tmpdir(), 'stowage-e2e-')));
  try {
    return await startTestApp(storageRoot, env, customize);
  } catch (err) {
    // A test that expects start-up to fail must not leave the root it did not ask for behind.
    if (root === undefined) await rm(storageRoot, { recursive: true, force: true });
    throw err;
  }
}

async function startTestApp(
  storageRoot: string,
  env: EnvOverrides,
  customize: (builder: TestingModuleBuilder) => TestingModuleBuilder,
): Promise<TestApp> {
  const moduleRef = await customize(
    Test.createTestingModule({
      imports: [AppModule.forRoot({ UPLOAD_DIR: storageRoot, LOG_LEVEL: 'silent', DURABILITY: 'none', RETRY_BASE_DELAY_MS: 5, ...env })],
    }),
  ).compile();
  const app = moduleRef.createNestApplication(new StowageExpressAdapter(), { bufferLogs: true });
  configureApp(app);
  await app.init();
  return {
    app,
    server: app.getHttpServer(),
    uploads: app.get(UploadsService),
    root: storageRoot,
    staged: () => readdir(join(storageRoot, 'staging')),
    async close({ keepRoot = false } = {}) {
      await app.close();
      if (!keepRoot) await rm(storageRoot, { recursive: true, force: true });
    },
  };
}
