import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module.js';
import { exitOnSignals } from './app.setup.js';

/**
 * A storage worker: takes storage jobs from the BullMQ queue and opens no port. Needs
 * TASK_TRANSPORT=bullmq, REDIS_URL and the same UPLOAD_DIR volume as the API processes.
 */
const app = await NestFactory.createApplicationContext(AppModule.forRoot({ ROLE: 'worker' }), { bufferLogs: true });
app.useLogger(app.get(Logger));
exitOnSignals(app);
