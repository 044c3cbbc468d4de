import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ConfigService } from '@nestjs/config';
import type { Params } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import type { EnvironmentVariables } from './env.validation.js';

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** Reuses a sane incoming X-Request-Id, otherwise makes one, and echoes it on the response. */
export function requestId(req: IncomingMessage, res: ServerResponse): string {
  const incoming = req.headers['x-request-id'];
  const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
  res.setHeader('X-Request-Id', id);
  return id;
}

/**
 * JSON lines by default; `LOG_PRETTY=true` for people reading a terminal. `destination` (JSON
 * only, stdout when absent) is a seam for tests that read the log lines the real app writes.
 */
export function loggerOptionsFromEnv(config: ConfigService<EnvironmentVariables, true>, destination?: DestinationStream): Params {
  const options = {
    level: config.get('LOG_LEVEL', { infer: true }),
    genReqId: requestId,
    transport: config.get('LOG_PRETTY', { infer: true }) && !destination ? { target: 'pino-pretty', options: { singleLine: true } } : undefined,
    // Health probes and metric scrapes would drown everything else.
    autoLogging: { ignore: (req: IncomingMessage) => req.url === '/health' || req.url === '/metrics' },
  };
  return { pinoHttp: destination ? [options, destination] : options };
}
