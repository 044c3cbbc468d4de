// The real service in a child process, for crash and shutdown tests. It is the compiled app
// (test-output/build) with one seam: FAULT makes the storage backend stop at a chosen point and
// say so on stdout, so a test can SIGKILL the process exactly there.
//   FAULT=hold-before-store  every put waits forever before writing anything
//   FAULT=hold-mid-save      the backend copies instead of moving (as if on another filesystem);
//                            every put writes half the bytes to its temp file, then waits forever
//   FAULT=hold-after-move    every move into place completes, then waits forever (record not yet stored)
//   FAULT=fail-first-put     the first save (move or copy) fails with a permanent error (EACCES)
import 'reflect-metadata';
import { PassThrough } from 'node:stream';
import { Test } from '@nestjs/testing';

const build = process.env.STOWAGE_BUILD_DIR;
const { AppModule } = await import(`${build}/app/app.module.js`);
const { configureApp, exitOnSignals } = await import(`${build}/app/app.setup.js`);
const { StowageExpressAdapter } = await import(`${build}/app/http-server.js`);
const { STORAGE_BACKEND } = await import(`${build}/storage/storage-backend.interface.js`);
const { LocalDiskStorage } = await import(`${build}/storage/local-disk.storage.js`);
const { join } = await import('node:path');

const say = (line) => process.stdout.write(`${line}\n`);
const forever = () => new Promise(() => {});

const { StorageError } = await import(`${build}/domain/errors/storage.error.js`);
let puts = 0;

class FaultyStorage extends LocalDiskStorage {
  async adopt(key, sourcePath, expected) {
    if (process.env.FAULT === 'hold-mid-save') return false;
    if (process.env.FAULT === 'fail-first-put' && ++puts === 1) {
      throw new StorageError('PERMISSION_DENIED', `permission denied moving ${key}`);
    }
    if (process.env.FAULT === 'hold-before-store') {
      say(`FAULT_REACHED ${key}`);
      return forever();
    }
    const moved = await super.adopt(key, sourcePath, expected);
    if (process.env.FAULT === 'hold-after-move') {
      say(`FAULT_REACHED ${key}`);
      return forever();
    }
    return moved;
  }

  async put(key, body, expected, signal) {
    puts += 1;
    if (process.env.FAULT === 'fail-first-put' && puts === 1) {
      body.destroy();
      throw new StorageError('PERMISSION_DENIED', `permission denied writing ${key}`);
    }
    if (process.env.FAULT === 'hold-before-store') {
      say(`FAULT_REACHED ${key}`);
      return forever();
    }
    if (process.env.FAULT === 'hold-mid-save') {
      const half = new PassThrough();
      let sent = 0;
      (async () => {
        for await (const chunk of body) {
          if (sent + chunk.length > expected.size / 2) {
            half.write(chunk.subarray(0, Math.floor(expected.size / 2) - sent));
            say(`FAULT_REACHED ${key}`);
            return;
          }
          sent += chunk.length;
          half.write(chunk);
        }
      })();
      return super.put(key, half, expected, signal);
    }
    return super.put(key, body, expected, signal);
  }
}

const root = process.env.UPLOAD_DIR;
const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot()] })
  .overrideProvider(STORAGE_BACKEND)
  .useValue(new FaultyStorage(join(root, 'files'), process.env.DURABILITY !== 'none'))
  .compile();
const app = moduleRef.createNestApplication(new StowageExpressAdapter(), { bufferLogs: true });
configureApp(app);
exitOnSignals(app);
await app.listen(0, '127.0.0.1');
say(`LISTENING ${app.getHttpServer().address().port}`);
