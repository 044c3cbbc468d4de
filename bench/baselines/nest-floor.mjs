// Reference server "nest-floor": the least a NestJS app does to accept an upload. Nest 12 on
// platform-express, FileInterceptor with multer's diskStorage writing straight to its final file,
// 202 once multer has closed it. Like raw-stream: no validation, hashing, records, fsync or
// background work. It shows what the framework costs before Stowage does anything, so the gap
// between raw-stream and the service can be split into framework and service.
//
// Env: PORT, UPLOAD_DIR (files land in <UPLOAD_DIR>/files/<random name>). FLOOR_DURABILITY=fsync
// adds the least such an app needs before its 202 can mean "on disk": an fsync of the file, then of
// its directory (the bench's "nest-floor (fsync)"; `nest-floor@FLOOR_DURABILITY=fsync` in
// bench/ab.mjs). The targets compare with the plain floor.
// GET /health answers { pending: 0 }: nothing happens after the 202.
import 'reflect-metadata';
import { mkdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { Controller, Get, HttpCode, Module, Post, UploadedFile, UseInterceptors } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FileInterceptor } from '@nestjs/platform-express';
import multer from 'multer';

const port = Number(process.env.PORT ?? 3003);
const root = process.env.UPLOAD_DIR;
if (!root) throw new Error('UPLOAD_DIR is required');
const filesDir = join(root, 'files');
mkdirSync(filesDir, { recursive: true });

const durable = process.env.FLOOR_DURABILITY === 'fsync';

async function fsyncPath(path) {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

// Plain JavaScript has no decorator syntax here: the decorators are applied by hand, as tsc would.
class UploadsController {
  upload(file) {
    const reply = { id: file.filename, status: 'stored', size: file.size };
    if (!durable) return reply;
    return fsyncPath(file.path)
      .then(() => fsyncPath(filesDir))
      .then(() => reply);
  }
}
const method = (name) => Object.getOwnPropertyDescriptor(UploadsController.prototype, name);
UploadedFile()(UploadsController.prototype, 'upload', 0);
for (const decorate of [
  HttpCode(202),
  UseInterceptors(FileInterceptor('file', { storage: multer.diskStorage({ destination: filesDir }) })),
  Post(),
]) {
  decorate(UploadsController.prototype, 'upload', method('upload'));
}
Controller('uploads')(UploadsController);

class HealthController {
  health() {
    return { status: 'ok', pending: 0 };
  }
}
Get()(HealthController.prototype, 'health', Object.getOwnPropertyDescriptor(HealthController.prototype, 'health'));
Controller('health')(HealthController);

class BenchModule {}
Module({ controllers: [UploadsController, HealthController] })(BenchModule);

const app = await NestFactory.create(BenchModule, { logger: ['error'] });
await app.listen(port, '127.0.0.1');
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
