import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** What the proxy can do to a request instead of passing it on. */
export type S3Fault =
  /** 500 InternalError */
  | 'internal-error'
  /** 503 ServiceUnavailable */
  | 'unavailable'
  /** 503 SlowDown */
  | 'slow-down'
  /** 403 AccessDenied */
  | 'access-denied'
  /** never answers: the client's timeout has to notice */
  | 'timeout'
  /** reads the first bytes of the body, then drops the connection */
  | 'drop';

export interface SeenRequest {
  method: string;
  url: string;
}
export type RequestMatch = (req: SeenRequest) => boolean;

export const anyRequest: RequestMatch = () => true;
/** An UploadPart: `PUT /bucket/key?partNumber=…&uploadId=…`. */
export const isPartUpload: RequestMatch = (r) => r.method === 'PUT' && /[?&]partNumber=/.test(r.url);
/** A write of a whole object (one PUT) or of a part. */
export const isWrite: RequestMatch = (r) => r.method === 'PUT';
export const isHeadBucket: RequestMatch = (r) => r.method === 'HEAD' && /^\/[^/?]+\/?(\?|$)/.test(r.url);

const ERRORS: Record<Exclude<S3Fault, 'timeout' | 'drop'>, [number, string, string]> = {
  'internal-error': [500, 'InternalError', 'We encountered an internal error. Please try again.'],
  unavailable: [503, 'ServiceUnavailable', 'Service is unable to handle request.'],
  'slow-down': [503, 'SlowDown', 'Please reduce your request rate.'],
  'access-denied': [403, 'AccessDenied', 'Access Denied'],
};

/**
 * A small HTTP proxy in front of moto that can break requests on purpose: answer with an S3 error,
 * never answer, drop the connection mid-body, hold requests until released, or refuse connections
 * altogether ("S3 is down"). Counts what it saw. Loopback only.
 */
export class S3FaultProxy {
  private readonly sockets = new Set<Socket>();
  private rules: Array<{ fault: S3Fault; times: number; when: RequestMatch }> = [];
  private holds: Array<{ when: RequestMatch; gate: Promise<void> }> = [];
  private readonly stalled = new Set<ServerResponse>();
  readonly seen: SeenRequest[] = [];
  private server: http.Server;
  private port = 0;

  private constructor(private readonly target: URL) {
    this.server = this.makeServer();
  }

  static async start(target: string): Promise<S3FaultProxy> {
    const proxy = new S3FaultProxy(new URL(target));
    await proxy.listen(0);
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The next `times` requests matching `when` get `fault`. */
  fail(fault: S3Fault, { times = 1, when = anyRequest }: { times?: number; when?: RequestMatch } = {}): this {
    this.rules.push({ fault, times, when });
    return this;
  }

  /** Requests matching `when` wait (unanswered, body unread) until the returned function is called. */
  hold(when: RequestMatch): () => void {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const entry = { when, gate };
    this.holds.push(entry);
    return () => {
      this.holds = this.holds.filter((h) => h !== entry);
      release();
    };
  }

  /** How many requests matching `when` arrived so far. */
  count(when: RequestMatch = anyRequest): number {
    return this.seen.filter(when).length;
  }

  /** S3 is down: open connections are cut and new ones refused, until `up()`. */
  async down(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  /** Back on the same port. */
  async up(): Promise<void> {
    this.server = this.makeServer();
    await this.listen(this.port);
  }

  async close(): Promise<void> {
    for (const res of this.stalled) res.destroy();
    if (this.server.listening) await this.down();
  }

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.port = (this.server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  private makeServer(): http.Server {
    const server = http.createServer((req, res) => void this.handle(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    return server;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const seen = { method: req.method ?? 'GET', url: req.url ?? '/' };
    this.seen.push(seen);
    const held = this.holds.find((h) => h.when(seen));
    if (held) await held.gate;
    if (req.socket.destroyed) return; // its client died while it was held: nothing to pass on
    const rule = this.rules.find((r) => r.times > 0 && r.when(seen));
    if (rule) {
      rule.times -= 1;
      return this.inject(rule.fault, req, res);
    }
    const upstream = http.request(
      { host: this.target.hostname, port: this.target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  }

  private inject(fault: S3Fault, req: IncomingMessage, res: ServerResponse): void {
    if (fault === 'timeout') {
      this.stalled.add(res);
      res.on('close', () => this.stalled.delete(res));
      req.resume();
      return;
    }
    if (fault === 'drop') {
      req.once('data', () => req.socket.destroy());
      req.once('end', () => req.socket.destroy());
      return;
    }
    const [status, code, message] = ERRORS[fault];
    req.resume();
    req.once('end', () => {
      const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>fault</RequestId></Error>`;
      res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
  }
}
