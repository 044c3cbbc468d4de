import 'reflect-metadata';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { configureApp, exitOnSignals } from './app.setup.js';
import type { EnvironmentVariables } from './config/env.validation.js';

const app = await NestFactory.create(AppModule.forRoot(), { bufferLogs: true });
configureApp(app);
exitOnSignals(app);
await app.listen(app.get<ConfigService<EnvironmentVariables, true>>(ConfigService).get('PORT', { infer: true }));
