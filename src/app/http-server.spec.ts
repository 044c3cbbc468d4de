import { IncomingMessage, type Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express, Request, Response } from 'express';
import { StowageExpressAdapter } from './http-server.js';

describe('StowageExpressAdapter', () => {
  let adapter: StowageExpressAdapter;
  let server: Server;
  let app: Express;

  beforeEach(async () => {
    adapter = new StowageExpressAdapter();
    adapter.initHttpServer({});
    server = adapter.getHttpServer();
    app = adapter.getInstance<Express>();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterEach(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const get = async (path: string) => fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`);

  it("makes requests and responses with Express's prototypes already in place, so Express has none to set", async () => {
    // Runs before Express's own listener: what the HTTP server made, as Express receives it.
    const made: unknown[] = [];
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) =>
      made.push(Object.getPrototypeOf(req), Object.getPrototypeOf(res)),
    );
    app.get('/shape', (req: Request, res: Response) => {
      res.json({
        request: req instanceof IncomingMessage,
        response: res instanceof ServerResponse,
        path: req.path,
        sameApp: req.app === app,
      });
    });

    const res = await get('/shape?x=1');
    expect(await res.json()).toEqual({ request: true, response: true, path: '/shape', sameApp: true });
    expect(made).toEqual([app.request, app.response]);
  });

  it('still finds what a host adds to the app’s request and response prototypes', async () => {
    Object.assign(app.request, { tenant: () => 'acme' });
    Object.assign(app.response, { tagged: (body: string) => `[${body}]` });
    app.get('/extended', (req: Request, res: Response) => {
      const request = req as Request & { tenant(): string };
      const response = res as Response & { tagged(body: string): string };
      res.send(response.tagged(request.tenant()));
    });

    const res = await get('/extended');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('[acme]');
  });
});
