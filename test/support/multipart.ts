import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';

export const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');
export const randomFile = (size: number) => randomBytes(size);

/** Starts listening on an ephemeral loopback port if not yet, and returns its base URL. */
export async function baseUrl(server: Server): Promise<string> {
  if (!server.listening) await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * Sends a request with exactly the bytes given (malformed bodies included) and collects the answer.
 * `hold` keeps the request body open after the bytes, to show the server answers before it ends.
 */
export function rawRequest(
  url: string,
  options: { method?: string; path?: string; headers?: Record<string, string | number>; body?: Buffer | string; hold?: boolean },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url + (options.path ?? '/uploads'), { method: options.method ?? 'POST', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() });
        if (options.hold) req.destroy();
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    if (!options.hold) req.end();
  });
}

/** A multipart body built by hand, so tests control every byte of it. */
export function multipartBody(
  boundary: string,
  parts: Array<{ name: string; filename?: string; type?: string; content: Buffer | string; headers?: string }>,
  { close = true } = {},
): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"`;
    if (part.filename !== undefined) head += `; filename="${part.filename}"`;
    head += '\r\n';
    if (part.type) head += `Content-Type: ${part.type}\r\n`;
    if (part.headers) head += part.headers;
    chunks.push(Buffer.from(head + '\r\n'), Buffer.from(part.content), Buffer.from('\r\n'));
  }
  if (close) chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}
