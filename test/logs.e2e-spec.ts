import { Writable } from 'node:stream';
import { ConfigService } from '@nestjs/config';
import request from 'supertest';
import type { EnvironmentVariables } from '../src/app/config/environment.js';
import { loggerOptionsFromEnv } from '../src/app/config/logger.config.js';
import { LOGGING_PARAMS } from '../src/app/logging/logging.module.js';
import { STORAGE_BACKEND } from '../src/storage/storage-backend.interface.js';
import { StorageError } from '../src/domain/errors/storage.error.js';
import { InMemoryStorage } from '../src/testing/in-memory.storage.js';
import { createTestApp, type TestApp } from './support/test-app.js';

type LogLine = Record<string, unknown> & { req?: { id?: string }; res?: { statusCode?: number } };

/** The test app with the standalone app's pino logger at `level`, writing its lines into `lines`. */
async function appWithLogLines(level: string, backend: InMemoryStorage, lines: LogLine[]): Promise<TestApp> {
  // Every line must be one JSON object: JSON.parse throws on anything else and fails the test.
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return createTestApp({ LOG_LEVEL: level }, (b) =>
    b
      .overrideProvider(STORAGE_BACKEND)
      .useValue(backend)
      .overrideProvider(LOGGING_PARAMS)
      .useFactory({
        factory: (config: ConfigService<EnvironmentVariables, true>) => loggerOptionsFromEnv(config, sink),
        inject: [ConfigService],
      }),
  );
}

describe('Request ids in the JSON logs (e2e)', () => {
  const lines: LogLine[] = [];
  const backend = new InMemoryStorage();
  let t: TestApp;

  beforeAll(async () => {
    t = await appWithLogLines('info', backend, lines);
  });
  afterAll(() => t.close());

  const about = (uploadId: string) => lines.filter((l) => l.uploadId === uploadId);

  it('ties every line of one upload, in the request and in the background, to its request id and upload id', async () => {
    const res = await request(t.server)
      .post('/uploads')
      .set('X-Request-Id', 'client-req-0042')
      .attach('file', Buffer.from('logged'), 'logged.txt')
      .expect(202);
    expect(res.headers['x-request-id']).toBe('client-req-0042');
    await t.uploads.waitUntilSettled(res.body.id);

    const http = lines.find((l) => l.req?.id === 'client-req-0042' && l.res?.statusCode === 202);
    expect(http).toMatchObject({ level: 30, msg: 'request completed' });

    const lifecycle = about(res.body.id);
    expect(lifecycle.map((l) => l.event)).toEqual(expect.arrayContaining(['upload.received', 'upload.stored']));
    for (const line of lifecycle) expect(line).toMatchObject({ uploadId: res.body.id, requestId: 'client-req-0042' });
  });

  it('logs a storage failure with the upload id and the id of the request that created it', async () => {
    backend.failNext(new StorageError('PERMISSION_DENIED', 'permission denied'));
    const res = await request(t.server)
      .post('/uploads')
      .set('X-Request-Id', 'client-req-0043')
      .attach('file', Buffer.from('doomed'), 'doomed.txt')
      .expect(202);
    await expect(t.uploads.waitUntilSettled(res.body.id)).rejects.toThrow(/failed/);

    const failure = about(res.body.id).find((l) => l.event === 'upload.store_failed');
    expect(failure).toMatchObject({
      level: 50,
      uploadId: res.body.id,
      requestId: 'client-req-0043',
      errorCode: 'PERMISSION_DENIED',
      final: true,
    });
  });

  it('names the request in the error line of a storage error met while answering it', async () => {
    const res = await request(t.server).post('/uploads').attach('file', Buffer.from('vanishing'), 'vanishing.txt').expect(202);
    await t.uploads.waitUntilSettled(res.body.id);
    backend.objects.delete(res.body.id); // gone behind the service's back

    const read = await request(t.server).get(`/uploads/${res.body.id}/content`).set('X-Request-Id', 'client-req-0044');
    expect(read.status).toBeGreaterThanOrEqual(400);
    expect(lines.find((l) => l.event === 'upload.storage_error')).toMatchObject({ level: 50, requestId: 'client-req-0044' });
  });

  it('makes an id when the client sends none or an unusable one, and logs the one it echoes', async () => {
    for (const sent of [undefined, 'has spaces in it', 'x'.repeat(200)]) {
      const req = request(t.server).get('/uploads?limit=1');
      const res = await (sent === undefined ? req : req.set('X-Request-Id', sent)).expect(200);
      const id = res.headers['x-request-id'];
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(lines.find((l) => l.req?.id === id)).toMatchObject({ msg: 'request completed' });
    }
  });
});

describe('LOG_LEVEL above info (e2e)', () => {
  const lines: LogLine[] = [];
  const backend = new InMemoryStorage();
  let t: TestApp;

  beforeAll(async () => {
    t = await appWithLogLines('warn', backend, lines);
  });
  afterAll(() => t.close());

  it('writes no request or lifecycle line for a stored upload, and still names the request in an error line', async () => {
    const stored = await request(t.server)
      .post('/uploads')
      .set('X-Request-Id', 'quiet-req-1')
      .attach('file', Buffer.from('quiet'), 'q.txt');
    expect(stored.status).toBe(202);
    expect(stored.headers['x-request-id']).toBe('quiet-req-1');
    await t.uploads.waitUntilSettled(stored.body.id);
    expect(lines).toEqual([]);

    backend.failNext(new StorageError('PERMISSION_DENIED', 'permission denied'));
    const failed = await request(t.server)
      .post('/uploads')
      .set('X-Request-Id', 'quiet-req-2')
      .attach('file', Buffer.from('doomed'), 'd.txt');
    await expect(t.uploads.waitUntilSettled(failed.body.id)).rejects.toThrow(/failed/);
    expect(lines.map((l) => l.level)).toEqual([50]);
    expect(lines[0]).toMatchObject({ event: 'upload.store_failed', uploadId: failed.body.id, requestId: 'quiet-req-2' });
  });
});
