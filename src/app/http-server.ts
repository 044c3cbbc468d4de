import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { ExpressAdapter } from '@nestjs/platform-express';
import { statusOf, type UploadErrorCode } from '../domain/errors/error-codes.js';
import { errorBody } from '../uploads/http/error-response.js';

/**
 * The standalone app's Express adapter: Nest's own, plus the two things its HTTP server needs that
 * Node does not do by itself, both through public events only.
 */
export class StowageExpressAdapter extends ExpressAdapter {
  private readonly unused = new Set<Socket>();
  private readonly answering = new Map<Socket, ServerResponse>();

  override initHttpServer(options: Parameters<ExpressAdapter['initHttpServer']>[0]): void {
    super.initHttpServer(options);
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

const CLIENT_ERRORS: Record<string, UploadErrorCode> = {
  HPE_HEADER_OVERFLOW: 'REQUEST_HEADERS_TOO_LARGE',
  ERR_HTTP_REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
};
