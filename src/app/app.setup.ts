import type { Server } from 'node:http';
import type { INestApplication } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { EnvironmentVariables } from './config/environment.js';
import { PinoLoggerService } from './logging/logging.module.js';
import { setupOpenApi } from './openapi.js';

/** Everything `main.ts` does to the app before listening, shared with the e2e suites. */
export function configureApp(app: INestApplication): void {
  app.useLogger(app.get(PinoLoggerService));
  setupOpenApi(app);
  applyServerTimeouts(app);
}

const CONNECTIONS_CHECK_MS = 1000;

/**
 * Node's default 5-minute `requestTimeout` would cut off a large upload on a slow link. Instead a
 * whole request has no cap by default, and a connection with no bytes moving is closed.
 */
function applyServerTimeouts(app: INestApplication): void {
  const config = app.get<ConfigService<EnvironmentVariables, true>>(ConfigService);
  const server = app.getHttpServer() as Server;
  server.requestTimeout = config.get('HTTP_REQUEST_TIMEOUT_MS', { infer: true });
  server.headersTimeout = config.get('HTTP_HEADERS_TIMEOUT_MS', { infer: true });
  // Node checks those two timeouts every 30 s by default (read when the server starts listening), so
  // a client trickling its headers kept its connection up to 30 s past HTTP_HEADERS_TIMEOUT_MS.
  // A public property of Node's Server that @types/node only knows as a createServer() option.
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = Math.min(
    CONNECTIONS_CHECK_MS,
    server.headersTimeout,
  );
  server.setTimeout(config.get('HTTP_IDLE_TIMEOUT_MS', { infer: true }));
}

/**
 * SIGTERM/SIGINT close the app (new uploads get 503 while in-flight ones and the storage work drain,
 * see UploadAdmission) and exit 0. Nest's own shutdown hooks would re-raise the signal instead, which
 * a supervisor reads as a crash. A second signal exits at once.
 */
export function exitOnSignals(app: { close(): Promise<void> }): void {
  let closing = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) process.exit(1);
    closing = true;
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`shutdown after ${signal} failed: ${String((err as Error)?.stack ?? err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
