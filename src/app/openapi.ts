import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { type INestApplication, Logger } from '@nestjs/common';
import type { OpenAPIObject } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { errorBody } from '../uploads/http/error-response.js';
import { describeRoutes, swaggerLoaded } from '../uploads/http/openapi.js';

const TITLE = 'Stowage';
const DESCRIPTION = 'Event-driven file uploads: 202 on receipt, storage in the background, status you can read.';

/** swagger-ui-dist's files the page uses, by the name they are served under. Nothing else is served. */
const UI_FILES: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

/**
 * Starts Swagger UI on the document next to it. Relative to this script's own URL, so the page works
 * at `/docs` and `/docs/` and behind a reverse proxy's path prefix.
 */
const INIT_SCRIPT = `window.ui = SwaggerUIBundle({
  url: new URL('../docs-json', document.currentScript.src).href,
  dom_id: '#swagger-ui',
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
});
`;

const page = (base: string) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${TITLE} API</title>
<link rel="stylesheet" href="${base}swagger-ui.css">
<link rel="icon" type="image/png" href="${base}favicon-32x32.png" sizes="32x32">
</head>
<body>
<div id="swagger-ui"></div>
<script src="${base}swagger-ui-bundle.js"></script>
<script src="${base}init.js"></script>
</body>
</html>
`;

/**
 * Swagger UI at `/docs`, the document at `/docs-json`. `@nestjs/swagger` is loaded, and the routes
 * described, when one of them is first asked for (see `describeRoutesOnDemand`), not at start-up:
 * most processes never serve them. Plain routes on the HTTP adapter, as Swagger's own setup uses, so
 * guards such as the API key leave them open.
 */
export function setupOpenApi(app: INestApplication): void {
  const http = app.getHttpAdapter();
  const logger = new Logger('OpenApi');
  let swagger: ReturnType<typeof describeRoutes> | undefined;
  let document: Promise<OpenAPIObject | undefined> | undefined;
  let uiDir: Promise<string | undefined> | undefined;

  // The first request to the docs pays for loading Swagger and describing the routes; the line says why it was slower.
  const load = () =>
    (swagger ??= (async () => {
      const started = performance.now();
      const loadedSwagger = !swaggerLoaded();
      const loaded = await describeRoutes();
      logger.log({
        msg: 'API docs ready',
        event: 'docs.loaded',
        loadedSwagger,
        installed: loaded !== undefined,
        ms: Math.round(performance.now() - started),
      });
      return loaded;
    })());
  const build = async (): Promise<OpenAPIObject | undefined> => {
    const loaded = await load();
    if (!loaded) return undefined;
    const config = new loaded.DocumentBuilder().setTitle(TITLE).setDescription(DESCRIPTION).setVersion('0.1.0').build();
    return loaded.SwaggerModule.createDocument(app, config);
  };
  // swagger-ui-dist comes with @nestjs/swagger: resolved from there, so it is found wherever npm put it.
  const ui = () =>
    (uiDir ??= (async () => {
      if (!(await load())) return undefined;
      const fromSwagger = createRequire(createRequire(import.meta.url).resolve('@nestjs/swagger'));
      return dirname(fromSwagger.resolve('swagger-ui-dist/package.json'));
    })());

  /** Answers with `serve`'s result; a missing Swagger is a 404, any other failure a logged 500. */
  const route = (serve: (req: Request, res: Response) => Promise<boolean>) => async (req: Request, res: Response) => {
    try {
      if (await serve(req, res)) return;
      res.status(404).json(errorBody(404, 'API docs need @nestjs/swagger, which is not installed'));
    } catch (err) {
      document = undefined; // try afresh next time
      uiDir = undefined;
      logger.error({ msg: 'could not serve the API docs', event: 'docs.failed', err });
      if (!res.headersSent) res.status(500).json(errorBody(500, 'Internal server error'));
    }
  };

  http.get(
    '/docs-json',
    route(async (_req, res) => {
      const doc = await (document ??= build());
      if (doc) res.json(doc);
      return doc !== undefined;
    }),
  );
  // Matches `/docs/` too; the page's links are relative to wherever it was reached.
  http.get(
    '/docs',
    route(async (req, res) => {
      if (!(await ui())) return false;
      res.type('html').send(page(req.path.endsWith('/') ? './' : 'docs/'));
      return true;
    }),
  );
  http.get(
    '/docs/:file',
    route(async (req, res) => {
      const name = req.params.file as string;
      const dir = await ui();
      if (!dir) return false;
      if (name === 'init.js') {
        res.type('text/javascript; charset=utf-8').send(INIT_SCRIPT);
        return true;
      }
      const type = Object.hasOwn(UI_FILES, name) ? UI_FILES[name] : undefined;
      if (!type) {
        res.status(404).json(errorBody(404, `Cannot GET ${req.path}`));
        return true;
      }
      res.type(type).sendFile(join(dir, name));
      return true;
    }),
  );
}
