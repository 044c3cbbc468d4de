import http from 'node:http';

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
