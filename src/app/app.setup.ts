import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { INestApplication } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { EnvironmentVariables } from './config/env.validation.js';
import { PinoLoggerService } from './logging/logging.module.js';
import { setupOpenApi } from './openapi.js';

/** Everything `main.ts` does to the app before listening, shared with the e2e suites. */
export function configureApp(app: INestApplication): void {
  app.useLogger(app.get(PinoLoggerService));
  setupOpenApi(app);
  applyServerTimeouts(app);
}

/**
 * Node's default 5-minute `requestTimeout` would cut off a large upload on a slow link. Instead a
 * whole request has no cap by default, and a connection with no bytes moving is closed.
 */
function applyServerTimeouts(app: INestApplication): void {
  const config = app.get<ConfigService<EnvironmentVariables, true>>(ConfigService);
  const server = app.getHttpServer() as Server;
  server.requestTimeout = config.get('HTTP_REQUEST_TIMEOUT_MS', { infer: true });
  server.headersTimeout = config.get('HTTP_HEADERS_TIMEOUT_MS', { infer: true });
  server.setTimeout(config.get('HTTP_IDLE_TIMEOUT_MS', { infer: true }));
  server.on('clientError', answerClientError);
  closeUnusedConnectionsOnClose(server);
}

/**
 * Closing the server ends idle keep-alive connections, but on Node 20 not one that never sent a
 * request (a browser's preconnect): it would hold shutdown until the headers timeout. Nest closes
 * the server only after in-flight uploads have drained, so such sockets are destroyed then too;
 * requests still being answered finish as before.
 */
function closeUnusedConnectionsOnClose(server: Server): void {
  const unused = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    unused.add(socket);
    socket.once('close', () => unused.delete(socket));
  });
  server.on('request', (req: IncomingMessage) => unused.delete(req.socket));
  const close = server.close.bind(server);
  server.close = ((callback?: (err?: Error) => void) => {
    close(callback);
    for (const socket of unused) socket.destroy();
    return server;
  }) as Server['close'];
}

const CLIENT_ERRORS: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout'],
};

/** Requests too broken to reach Nest still get an answer in Nest's JSON error shape. */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  // The client went away mid-request: nothing can be answered, and only destroying the socket lets
  // the pending request end (and release what it holds, e.g. its upload slot).
  if (err.code === 'HPE_INVALID_EOF_STATE' || err.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  // Garbage after a request still being answered (e.g. a body longer than its Content-Length): let that answer out, then close.
  const pending = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;
  if (pending && !pending.writableFinished) {
    if (!pending.headersSent) pending.setHeader('Connection', 'close');
    pending.once('finish', () => socket.destroy());
    return;
  }
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const [statusCode, error] = CLIENT_ERRORS[err.code ?? ''] ?? [400, 'Bad Request'];
  const body = JSON.stringify({ statusCode, message: `Malformed HTTP request (${err.code ?? 'unknown'})`, error });
  socket.end(`HTTP/1.1 ${statusCode} ${error}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
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
