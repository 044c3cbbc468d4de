import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { exitOnSignals } from './app.setup.js';
import { PinoLoggerService } from './logging/logging.module.js';

/**
 * A storage worker: takes storage jobs from the BullMQ queue and opens no port. Needs
 * TASK_TRANSPORT=bullmq, REDIS_URL and the same UPLOAD_DIR volume as the API processes.
 */
const app = await NestFactory.createApplicationContext(AppModule.forRoot({ ROLE: 'worker' }), { bufferLogs: true });
app.useLogger(app.get(PinoLoggerService));
exitOnSignals(app);
