import { readdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import request from 'supertest';
import { createTestApp, type TestApp } from './support/test-app.js';
import { multipartBody } from './support/multipart.js';
import { sendRaw, type RawReply, type RawSend } from './support/raw-http.js';

const B = 'hostileBoundary7';
const MAX = 1024 * 1024;
const multipart = (body: Buffer | string, extra: string[] = [], boundary = B) => ({
  head: [
    'POST /uploads HTTP/1.1',
    'Host: localhost',
    `Content-Type: multipart/form-data; boundary=${boundary}`,
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    ...extra,
  ],
  body,
});
const fileBody = (filename: string, content: Buffer | string = 'payload', type = 'text/plain') =>
  multipartBody(B, [{ name: 'file', filename, type, content }]);

interface Case {
  name: string;
  send: RawSend;
  status: number;
  /** Extra checks on the answer; for 202s the upload is awaited until stored first. */
  check?: (reply: RawReply, t: TestApp) => Promise<void> | void;
}

const cases: Case[] = [
  {
    name: 'JSON instead of multipart',
    send: {
      head: ['POST /uploads HTTP/1.1', 'Host: x', 'Content-Type: application/json', 'Content-Length: 2', 'Connection: close'],
      body: '{}',
    },
    status: 400,
  },
  {
    name: 'no Content-Type at all',
    send: { head: ['POST /uploads HTTP/1.1', 'Host: x', 'Content-Length: 5', 'Connection: close'], body: 'hello' },
    status: 400,
  },
  {
    name: 'multipart without a boundary',
    send: {
      head: ['POST /uploads HTTP/1.1', 'Host: x', 'Content-Type: multipart/form-data', 'Content-Length: 5', 'Connection: close'],
      body: 'hello',
    },
    status: 400,
  },
  { name: 'boundary that is not in the body', send: multipart(fileBody('a.txt'), [], 'otherBoundary'), status: 400 },
  { name: 'body truncated mid-part', send: multipart(fileBody('a.txt', 'x'.repeat(5000)).subarray(0, 3000)), status: 400 },
  {
    name: 'missing closing boundary',
    send: multipart(multipartBody(B, [{ name: 'file', filename: 'a.txt', content: 'abc' }], { close: false })),
    status: 400,
  },
  {
    name: 'Content-Length shorter than the body',
    send: {
      ...multipart(fileBody('a.txt', 'y'.repeat(4000))),
      head: multipart(fileBody('a.txt', 'y'.repeat(4000))).head.map((h) => (h.startsWith('Content-Length') ? 'Content-Length: 1000' : h)),
    },
    status: 400,
  },
  { name: 'malformed part header', send: multipart(`--${B}\r\nthis is not a header\r\n\r\nabc\r\n--${B}--\r\n`), status: 400 },
  { name: 'no file part, only a text field', send: multipart(multipartBody(B, [{ name: 'note', content: 'hi' }])), status: 400 },
  {
    name: 'two files in "file"',
    send: multipart(
      multipartBody(B, [
        { name: 'file', filename: 'a', content: 'a' },
        { name: 'file', filename: 'b', content: 'b' },
      ]),
    ),
    status: 400,
  },
  {
    name: 'a file in an unexpected field',
    send: multipart(multipartBody(B, [{ name: 'avatar', filename: 'a.png', content: 'a' }])),
    status: 400,
  },
  { name: '"file" sent as a text field', send: multipart(multipartBody(B, [{ name: 'file', content: 'not a file' }])), status: 400 },
  {
    name: '1,000 parts',
    send: multipart(
      multipartBody(
        B,
        Array.from({ length: 1000 }, (_, i) => ({ name: `f${i}`, content: 'v' })),
      ),
    ),
    status: 400,
  },
  {
    name: 'a 200 KB text field',
    send: multipart(
      multipartBody(B, [
        { name: 'note', content: 'n'.repeat(200_000) },
        { name: 'file', filename: 'a', content: 'a' },
      ]),
    ),
    status: 400,
  },
  {
    name: '15 text fields',
    send: multipart(
      multipartBody(
        B,
        Array.from({ length: 15 }, (_, i) => ({ name: `f${i}`, content: 'v' })),
      ),
    ),
    status: 400,
  },
  {
    name: 'part header of 40 KB',
    send: multipart(
      multipartBody(B, [
        { name: 'file', filename: 'a', content: 'a', headers: Array.from({ length: 2000 }, (_, i) => `X-Header-${i}: value\r\n`).join('') },
      ]),
    ),
    status: 400,
  },
  {
    name: 'request header of 20 KB',
    send: { head: ['POST /uploads HTTP/1.1', 'Host: x', `X-Flood: ${'f'.repeat(20_000)}`, 'Content-Length: 0', 'Connection: close'] },
    status: 431,
  },
  { name: 'garbage instead of HTTP', send: { head: ['\u0001\u0002 not http at all'] }, status: 400 },
  { name: 'Content-Encoding: gzip', send: multipart(fileBody('a.txt'), ['Content-Encoding: gzip']), status: 415 },
  {
    name: 'sha256 field that does not match',
    send: multipart(
      multipartBody(B, [
        { name: 'sha256', content: 'a'.repeat(64) },
        { name: 'file', filename: 'a.txt', content: 'abc' },
      ]),
    ),
    status: 422,
  },
  {
    name: 'sha256 field that is not hex',
    send: multipart(
      multipartBody(B, [
        { name: 'sha256', content: 'nope' },
        { name: 'file', filename: 'a.txt', content: 'abc' },
      ]),
    ),
    status: 400,
  },
  { name: 'Idempotency-Key of 300 characters', send: multipart(fileBody('a.txt'), [`Idempotency-Key: ${'k'.repeat(300)}`]), status: 400 },
  {
    name: 'file over MAX_FILE_SIZE, answered while the body is still coming',
    send: {
      ...multipart(Buffer.alloc(0)),
      head: multipart(Buffer.alloc(0)).head.map((h) => (h.startsWith('Content-Length') ? `Content-Length: ${10 * MAX}` : h)),
      body: Buffer.concat([
        Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n\r\n`),
        Buffer.alloc(2 * MAX),
      ]),
    },
    status: 413,
    check: (reply) => expect(reply.headers.connection).toBe('close'),
  },
  {
    name: 'file one byte over MAX_FILE_SIZE, whole body sent',
    send: multipart(fileBody('over.bin', Buffer.alloc(MAX + 1), 'application/octet-stream')),
    status: 413,
  },
  {
    name: 'filename with ../',
    send: multipart(fileBody('../../../etc/passwd')),
    status: 202,
    check: (r) => expect(JSON.parse(r.body).filename).toBe('passwd'),
  },
  {
    name: 'absolute filename',
    send: multipart(fileBody('/etc/shadow')),
    status: 202,
    check: (r) => expect(JSON.parse(r.body).filename).toBe('shadow'),
  },
  {
    name: 'Windows path filename',
    send: multipart(fileBody('C:\\Windows\\System32\\evil.dll')),
    status: 202,
    check: (r) => expect(JSON.parse(r.body).filename).toBe('evil.dll'),
  },
  // busboy refuses a part header containing NUL outright; the normalizer's own NUL rule is unit-tested.
  { name: 'NUL byte in filename', send: multipart(fileBody('inno\u0000cent.txt')), status: 400 },
  {
    name: 'CR/LF in filename (header injection)',
    send: multipart(fileBody('a%0D%0ASet-Cookie: x=1.txt')),
    status: 202,
    check: async (r, t) => {
      const { id, filename } = JSON.parse(r.body) as { id: string; filename: string };
      expect(filename).toBe('aSet-Cookie: x=1.txt');
      const download = await request(t.server).get(`/uploads/${id}/content`).expect(200);
      expect(download.headers['set-cookie']).toBeUndefined();
    },
  },
  {
    name: '10,000-character filename',
    send: multipart(fileBody('n'.repeat(10_000) + '.txt')),
    status: 202,
    check: (r) => expect(Buffer.byteLength(JSON.parse(r.body).filename)).toBeLessThanOrEqual(255),
  },
  {
    name: 'bidi override in filename',
    send: multipart(fileBody('invoice\u202Etxt.exe')),
    status: 202,
    check: (r) => expect(JSON.parse(r.body).filename).toBe('invoicetxt.exe'),
  },
  {
    name: 'empty file (valid)',
    send: multipart(fileBody('empty.txt', '')),
    status: 202,
    check: async (r, t) => expect(await t.uploads.get(JSON.parse(r.body).id)).toMatchObject({ status: 'stored', size: 0 }),
  },
  {
    name: 'slow trickle upload',
    send: { ...multipart(fileBody('slow.bin', 's'.repeat(100_000))), trickle: { bytes: 20, everyMs: 50 } },
    status: 408,
  },
  {
    name: 'PUT on the collection',
    send: { head: ['PUT /uploads HTTP/1.1', 'Host: x', 'Content-Length: 0', 'Connection: close'] },
    status: 404,
  },
  {
    name: 'traversal in the id',
    send: { head: ['GET /uploads/..%2F..%2Fetc%2Fpasswd HTTP/1.1', 'Host: x', 'Connection: close'] },
    status: 400,
  },
];

describe('Hostile input (e2e)', () => {
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    t = await createTestApp({ MAX_FILE_SIZE: MAX, UPLOAD_MIN_BYTES_PER_SEC: 2000, UPLOAD_RATE_WINDOW_MS: 300, HTTP_IDLE_TIMEOUT_MS: 1000 });
    await t.app.listen(0, '127.0.0.1');
    port = (t.server.address() as AddressInfo).port;
  });
  afterAll(() => t.close());

  /** Aborted requests are cleaned up asynchronously; wait (bounded) for staging to empty. */
  async function stagingSettles(): Promise<string[]> {
    for (let i = 0; i < 100; i += 1) {
      const left = await t.staged();
      if (left.length === 0) return left;
      await delay(20);
    }
    return t.staged();
  }

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const reply = await sendRaw(port, c.send);
    expect({ status: reply.status, body: reply.body.slice(0, 300) }).toMatchObject({ status: c.status });
    if (c.status >= 400 && c.status !== 404) {
      expect(JSON.parse(reply.body)).toMatchObject({ statusCode: c.status, message: expect.anything(), error: expect.any(String) });
    }
    if (c.status === 202) await t.uploads.waitUntilSettled(JSON.parse(reply.body).id as string, { timeoutMs: 5000 });
    await c.check?.(reply, t);

    await request(t.server).get('/health').expect(200);
    expect(await stagingSettles()).toEqual([]);
  });

  it('forgets a client that disconnects halfway: no record, no staged bytes', async () => {
    const before = await request(t.server).get('/uploads?limit=100').expect(200);
    const body = fileBody('half.bin', 'h'.repeat(200_000));
    const reply = await sendRaw(port, { ...multipart(body.subarray(0, 100_000)), head: multipart(body).head, abort: true });
    expect(reply.status).toBe(0);

    expect(await stagingSettles()).toEqual([]);
    const after = await request(t.server).get('/uploads?limit=100').expect(200);
    expect(after.body.items).toHaveLength(before.body.items.length);
    await request(t.server).get('/health').expect(200);
  });

  it('never writes outside the storage root', async () => {
    const files = await readdir(t.root, { recursive: true });
    expect(files.filter((f) => f.includes('passwd') || f.includes('shadow') || f.includes('evil'))).toEqual([]);
  });
});
