import { createServer, IncomingMessage, type Server, type ServerOptions, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { NestApplicationOptions } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import type { Express } from 'express';
import { statusOf, type UploadErrorCode } from '../domain/errors/error-codes.js';
import { errorBody } from '../uploads/http/error-response.js';

/**
 * The standalone app's Express adapter: Nest's own, plus the two things its HTTP server needs that
 * Node does not do by itself, both through public events only.
 */
export class StowageExpressAdapter extends ExpressAdapter {
  private readonly unused = new Set<Socket>();
  private readonly answering = new Map<Socket, ServerResponse>();

  override initHttpServer(options: NestApplicationOptions): void {
    // What only Nest's own server sets up (HTTPS, its shutdown options) is left to it.
    if (options?.httpsOptions || options?.return503OnClosing || options?.forceCloseConnections) super.initHttpServer(options);
    else {
      const app = this.getInstance<Express>();
      this.setHttpServer(createServer(expressShapedClasses(app), app));
    }
    const server = this.getHttpServer() as Server;
    server.on('connection', (socket: Socket) => {
      this.unused.add(socket);
      socket.once('close', () => this.unused.delete(socket));
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.unused.delete(req.socket);
      this.answering.set(req.socket, res);
      res.once('close', () => this.answering.get(req.socket) === res && this.answering.delete(req.socket));
    });
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => this.answerClientError(err, socket));
  }

  /**
   * Closing the server ends idle keep-alive connections, but on Node 20 not one that never sent a
   * request (a browser's preconnect), and `closeIdleConnections()` skips it too: it would hold
   * shutdown until the headers timeout. Nest closes the server only after in-flight uploads have
   * drained, so such sockets are destroyed then; requests still being answered finish as before.
   */
  override close(): ReturnType<ExpressAdapter['close']> {
    const closing = super.close();
    for (const socket of this.unused) socket.destroy();
    return closing;
  }

  /** Requests too broken to reach Nest still get an answer in Nest's JSON error shape. */
  private answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    // The client went away mid-request: nothing can be answered, and only destroying the socket lets
    // the pending request end (and release what it holds, e.g. its upload slot).
    if (err.code === 'HPE_INVALID_EOF_STATE' || err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    // Garbage after a request still being answered (e.g. a body longer than its Content-Length): let that answer out, then close.
    const pending = this.answering.get(socket as Socket);
    if (pending && !pending.writableFinished) {
      if (!pending.headersSent) pending.setHeader('Connection', 'close');
      pending.once('finish', () => socket.destroy());
      return;
    }
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const code: UploadErrorCode = CLIENT_ERRORS[err.code ?? ''] ?? 'MALFORMED_REQUEST';
    const body = errorBody(statusOf(code), `Malformed HTTP request (${err.code ?? 'unknown'})`, code);
    const json = JSON.stringify(body);
    socket.end(
      `HTTP/1.1 ${body.statusCode} ${body.error}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`,
    );
  }
}

/**
 * Request and response classes whose instances have Express's prototypes from the start. Express
 * gives each request and response its app's prototype with `Object.setPrototypeOf`, and V8 then
 * takes the object's hidden class out of the tree it shares with other objects: every property
 * added afterwards (Express, Nest and multer add a dozen per request) makes new hidden classes for
 * that one request, so every property access that sees many requests misses its inline cache and
 * takes V8's slow lookup. That was 13-19% of the main thread's CPU in a small upload, in this
 * service and in a bare Nest app alike (perf; `--log-maps` showed 16 new hidden classes per request).
 *
 * Each class's prototype is chained to the app's (so every method Express or the host put there is
 * found) and becomes the app's prototype, so `setPrototypeOf` has nothing to change. Subclasses,
 * not functions of our own: V8 sizes and shares the objects of a subclass as it does the base's.
 */
function expressShapedClasses(app: Express): ServerOptions {
  class StowageRequest extends IncomingMessage {}
  class StowageResponse<Request extends IncomingMessage = IncomingMessage> extends ServerResponse<Request> {}
  Object.setPrototypeOf(StowageRequest.prototype, app.request);
  Object.setPrototypeOf(StowageResponse.prototype, app.response);
  app.request = StowageRequest.prototype as unknown as Express['request'];
  app.response = StowageResponse.prototype as unknown as Express['response'];
  return { IncomingMessage: StowageRequest, ServerResponse: StowageResponse };
}

const CLIENT_ERRORS: Record<string, UploadErrorCode> = {
  HPE_HEADER_OVERFLOW: 'REQUEST_HEADERS_TOO_LARGE',
  ERR_HTTP_REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
};
