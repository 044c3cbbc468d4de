import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import type { TestApp } from './test-app.js';
import { until } from './until.js';

export interface TusReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * One raw HTTP request with exactly the headers given (no client adds or fixes anything), for the
 * tus protocol tests. `hold` sends `body` and keeps the request open; `finish()` ends it.
 */
export function tusRequest(
  url: string,
  method: string,
  path: string,
  headers: Record<string, string | number> = {},
  body?: Buffer | string,
): Promise<TusReply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url + path, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** A PATCH whose body is sent in part and held open, to be finished (or dropped) by the test. */
export function heldPatch(
  url: string,
  path: string,
  headers: Record<string, string | number>,
  first: Buffer,
): { reply: Promise<TusReply>; send(rest: Buffer): void; write(more: Buffer): void; drop(): void; closed(): Promise<boolean> } {
  const req = http.request(url + path, { method: 'PATCH', headers });
  let closed = false;
  req.on('close', () => (closed = true));
  const reply = new Promise<TusReply>((resolve, reject) => {
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
  });
  req.write(first);
  return {
    reply,
    send: (rest) => req.end(rest),
    write: (more) => void (req.destroyed || req.write(more)),
    drop: () => req.destroy(),
    /** Whether the connection is gone (the server cut it off, or `drop()`). */
    closed: () => Promise.resolve(closed || req.socket?.destroyed === true),
  };
}

/** `Upload-Metadata` from plain values. */
export function tusMetadata(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([key, value]) => `${key} ${Buffer.from(value).toString('base64')}`)
    .join(',');
}

export const TUS = { 'Tus-Resumable': '1.0.0' } as const;

export const OFFSET_STREAM = { ...TUS, 'Content-Type': 'application/offset+octet-stream' };

/** A real 1×1 PNG, padded after its end to `size` bytes. */
export function pngFile(size: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0]);
  const image = Buffer.concat([
    Buffer.from('89504e470d0a1a0a', 'hex'),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.from([0, 255, 0, 0, 255]))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
  return Buffer.concat([image, Buffer.alloc(size - image.length)]);
}

/** The upload id at the end of a creation reply's `Location`. */
export function idOf(reply: TusReply): string {
  const location = reply.headers.location ?? '';
  return location.slice(location.lastIndexOf('/') + 1);
}

/** An `Upload-Checksum` value: the algorithm and the base64 digest of `bytes`. */
export function digest(algorithm: string, bytes: Buffer): string {
  return `${algorithm} ${createHash(algorithm).update(bytes).digest('base64')}`;
}

/**
 * The helpers of the raw-HTTP protocol suites, over the app and URL their `beforeAll` starts:
 * both are read at each call, so the helpers can be made before the app exists.
 */
export function tusHelpers(getApp: () => TestApp, getUrl: () => string) {
  /** The `Upload-Offset` a HEAD answers. */
  const offsetOf = async (id: string): Promise<string | undefined> =>
    (await tusRequest(getUrl(), 'HEAD', `/uploads/tus/${id}`, TUS)).headers['upload-offset'] as string | undefined;
  return {
    /** Nothing staged and no record besides `keep`: what a refused or finished request must leave. */
    leftBehind: async (keep: string[] = []): Promise<{ staged: string[]; records: string[] }> => {
      const t = getApp();
      const records = (await t.uploads.list({ limit: 100 })).items.filter((r) => r.status !== 'stored' && !keep.includes(r.id));
      return { staged: (await t.staged()).filter((n) => !keep.includes(n)), records: records.map((r) => r.id) };
    },
    /** Creates an upload (expecting 201) and answers its id. */
    create: async (headers: Record<string, string | number> = {}): Promise<string> => {
      const reply = await tusRequest(getUrl(), 'POST', '/uploads/tus', { ...TUS, ...headers });
      expect(reply.status).toBe(201);
      return idOf(reply);
    },
    offsetOf,
    /**
     * The offset once no request is writing to the upload, as a client that resumes finds it: a HEAD
     * while a PATCH is still being handled gives the bytes written so far, so an empty PATCH at the
     * offset HEAD gives confirms it (423 while the upload is locked, 409 if it moved meanwhile: ask again).
     */
    settledOffset: (id: string): Promise<number> =>
      until(`no request writing to ${id}`, async () => {
        const offset = await offsetOf(id);
        const probe = await tusRequest(getUrl(), 'PATCH', `/uploads/tus/${id}`, {
          ...OFFSET_STREAM,
          'Upload-Offset': String(offset),
          'Content-Length': 0,
        });
        return probe.status === 204 ? Number(probe.headers['upload-offset']) : undefined;
      }),
    /** The size of the upload's file in the staging area. */
    stagedSize: async (id: string): Promise<number> => (await stat(join(getApp().root, 'staging', id))).size,
  };
}
