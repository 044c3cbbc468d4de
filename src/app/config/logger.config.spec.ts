import { Writable } from 'node:stream';
import { ConfigService } from '@nestjs/config';
import { pino } from 'pino';
import type { EnvironmentVariables } from './environment.js';
import { loggerOptionsFromEnv } from './logger.config.js';

const SECRETS = ['Bearer tok-3f9a', 'sid=c00kie', 'key-77e1', 'Basic cHJveHk='];

/** The JSON lines a real pino logger with the app's options writes for each object logged. */
function linesFor(...objects: object[]): string[] {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const config = new ConfigService<EnvironmentVariables, true>({ LOG_LEVEL: 'info', LOG_PRETTY: false });
  const { options } = loggerOptionsFromEnv(config, sink);
  const logger = pino(options, sink);
  for (const object of objects) logger.info(object, 'line');
  return lines;
}

const headers = {
  authorization: SECRETS[0],
  cookie: SECRETS[1],
  'set-cookie': SECRETS[1],
  'x-api-key': SECRETS[2],
  'proxy-authorization': SECRETS[3],
  accept: '*/*',
};

describe('loggerOptionsFromEnv', () => {
  it('writes a request or response object as a few named fields, never its headers', () => {
    const [req, res] = linesFor(
      { req: { id: 'r-1', method: 'POST', url: '/uploads', headers, socket: {} } },
      { res: { statusCode: 202, headers } },
    ).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(req.req).toEqual({ id: 'r-1', method: 'POST', url: '/uploads' });
    expect(res.res).toEqual({ statusCode: 202 });
  });

  it('censors credential headers on errors and on request or response objects of HTTP clients', () => {
    const err = Object.assign(new Error('upstream refused'), { headers: { ...headers } });
    const lines = linesFor({ err }, { request: { method: 'GET', headers } }, { response: { status: 401, headers } });
    for (const line of lines) {
      for (const secret of SECRETS) expect(line).not.toContain(secret);
      expect(line).toContain('[redacted]');
      expect(line).toContain('*/*'); // other headers stay readable
    }
    expect(JSON.parse(lines[0]).err).toMatchObject({ message: 'upstream refused', headers: { authorization: '[redacted]' } });
  });
});
