import request from 'supertest';
import { UPLOAD_ERROR_STATUS } from '../src/domain/errors/error-codes.js';
import { createTestApp, type TestApp } from './support/test-app.js';

interface Example {
  value: { statusCode?: number; code?: string; status?: string };
}
interface ResponseObject {
  description?: string;
  content?: Record<string, { example?: Example['value']; examples?: Record<string, Example> }>;
}
type Document = { paths: Record<string, Record<string, { responses: Record<string, ResponseObject> }>> };

describe('The OpenAPI document (Swagger UI at /docs), e2e', () => {
  let t: TestApp;
  let doc: Document;

  beforeAll(async () => {
    t = await createTestApp();
    doc = (await request(t.server).get('/docs-json').expect(200)).body as Document;
  });
  afterAll(() => t.close());

  const responses = () =>
    Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).flatMap(([method, op]) =>
        Object.entries(op.responses).map(([status, response]) => ({
          route: `${method.toUpperCase()} ${path}`,
          status: Number(status),
          response,
        })),
      ),
    );
  const examplesOf = (response: ResponseObject) =>
    Object.values(response.content ?? {}).flatMap((media) => [
      ...(media.example ? [media.example] : []),
      ...Object.values(media.examples ?? {}).map((e) => e.value),
    ]);

  it('gives every error status of every route examples whose status and code the service really answers with', () => {
    const checked = responses().filter(({ status }) => status >= 400);
    expect(checked.length).toBeGreaterThan(10);
    for (const { route, status, response } of checked) {
      const examples = examplesOf(response);
      expect({ route, status, examples: examples.length > 0 }).toEqual({ route, status, examples: true });
      for (const example of examples) {
        // /health answers with terminus's body (which checks failed), not Nest's error shape.
        if (route === 'GET /health') {
          expect({ route, status, body: example.status }).toEqual({ route, status, body: 'error' });
          continue;
        }
        expect({ route, status: example.statusCode }).toEqual({ route, status });
        if (example.code !== undefined)
          expect({ route, code: example.code, status: UPLOAD_ERROR_STATUS[example.code as keyof typeof UPLOAD_ERROR_STATUS] }).toEqual({
            route,
            code: example.code,
            status,
          });
      }
    }
  });

  it('describes the tus routes one method each (no catch-all), with the upload id, Tus-Resumable and the chunk body', () => {
    type Operation = {
      parameters?: Array<{ name: string; in: string; required?: boolean }>;
      requestBody?: { content: Record<string, unknown> };
      responses: Record<string, ResponseObject & { headers?: Record<string, unknown> }>;
    };
    const tus = doc.paths as unknown as Record<string, Record<string, Operation>>;
    expect(Object.keys(tus['/uploads/tus']).sort()).toEqual(['options', 'post']);
    expect(Object.keys(tus['/uploads/tus/{id}']).sort()).toEqual(['delete', 'head', 'options', 'patch', 'post']);
    for (const [method, op] of Object.entries(tus['/uploads/tus/{id}'])) {
      expect({ method, id: op.parameters?.find((p) => p.in === 'path')?.name }).toEqual({ method, id: 'id' });
      if (method === 'options') continue;
      const version = op.parameters?.find((p) => p.in === 'header' && p.name === 'Tus-Resumable');
      expect({ method, required: version?.required }).toEqual({ method, required: true });
    }
    expect(Object.keys(tus['/uploads/tus/{id}'].patch.requestBody?.content ?? {})).toEqual(['application/offset+octet-stream']);
    expect(Object.keys(tus['/uploads/tus/{id}'].patch.responses['204'].headers ?? {})).toContain('Upload-Offset');
    expect(Object.keys(tus['/uploads/tus'].post.responses['201'].headers ?? {})).toContain('Location');
    expect(Object.keys(tus['/uploads/tus'].options.responses['204'].headers ?? {})).toEqual(
      expect.arrayContaining(['Tus-Version', 'Tus-Extension', 'Tus-Max-Size', 'Tus-Checksum-Algorithm']),
    );
  });

  it('describes the 413 and 415 of an upload, and shows a received record as the 202', () => {
    const upload = doc.paths['/uploads'].post.responses;
    expect(upload['413'].description).toMatch(/size limit/);
    expect(upload['415'].description).toMatch(/type/);
    expect(examplesOf(upload['202'])).toEqual([expect.objectContaining({ status: 'received' })]);
  });
});
