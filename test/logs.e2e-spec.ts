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

describe('Request ids in the JSON logs (e2e)', () => {
  const lines: LogLine[] = [];
  // Every line must be one JSON object: JSON.parse throws on anything else and fails the test.
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  const backend = new InMemoryStorage();
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ LOG_LEVEL: 'info' }, (b) =>
      b
        .overrideProvider(STORAGE_BACKEND)
        .useValue(backend)
        .overrideProvider(LOGGING_PARAMS)
        .useFactory({
          factory: (config: ConfigService<EnvironmentVariables, true>) => loggerOptionsFromEnv(config, sink),
          inject: [ConfigService],
        }),
    );
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
