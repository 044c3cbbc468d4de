// The HTTP client side of the crash scenarios: what a client sent, and when it heard back.
import { createHash } from 'node:crypto';
import net from 'node:net';

export const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
/** CLOCK_MONOTONIC in ns, the clock crashfs stamps its syncs with. */
export const now = () => process.hrtime.bigint();

function multipart(bytes, filename) {
  const boundary = `crash${Math.random().toString(16).slice(2)}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  const body = Buffer.concat([head, bytes, Buffer.from(`\r\n--${boundary}--\r\n`)]);
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

/** POSTs `bytes`; `ackAt` is taken when the answer's headers arrive, so it is never before the service sent it. */
export async function postUpload(url, bytes, { filename = 'f.bin', key } = {}) {
  const { body, contentType } = multipart(bytes, filename);
  const headers = { 'content-type': contentType, ...(key ? { 'idempotency-key': key } : {}) };
  const res = await fetch(`${url}/uploads`, { method: 'POST', body, headers, signal: AbortSignal.timeout(60_000) });
  const ackAt = now();
  const json = await res.json().catch(() => ({}));
  if (res.status !== 202) throw new Error(`POST /uploads answered ${res.status}: ${JSON.stringify(json)}`);
  return { id: json.id, ackAt, replayed: res.headers.get('idempotent-replayed') === 'true' };
}

/** Sends the headers and the first `sentBytes` of an upload, then drops the connection: no 202 can come. */
export async function postPartialUpload(url, bytes, sentBytes) {
  const { body, contentType } = multipart(bytes, 'partial.bin');
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  socket.on('error', () => undefined);
  await new Promise((resolve) => socket.once('connect', resolve));
  const head = `POST /uploads HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: ${contentType}\r\nContent-Length: ${body.length}\r\n\r\n`;
  await new Promise((resolve) => socket.write(Buffer.concat([Buffer.from(head), body.subarray(0, sentBytes)]), resolve));
  socket.destroy();
}

export async function deleteUpload(url, id) {
  const res = await fetch(`${url}/uploads/${id}`, { method: 'DELETE', signal: AbortSignal.timeout(30_000) });
  const at = now();
  await res.arrayBuffer();
  if (res.status !== 204) throw new Error(`DELETE ${id} answered ${res.status}`);
  return at;
}

export async function getRecord(url, id) {
  const res = await fetch(`${url}/uploads/${id}`, { signal: AbortSignal.timeout(30_000) });
  const json = await res.json().catch(() => undefined);
  return { status: res.status, record: json };
}

/** Waits for the upload to settle through its status stream, which ends after `stored` or `failed`. */
export async function waitSettled(url, id, timeoutMs = 30_000) {
  const res = await fetch(`${url}/uploads/${id}/events`, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  if (res.status !== 200) return { status: res.status };
  const data = text.split('\n').filter((line) => line.startsWith('data: '));
  return { status: 200, record: JSON.parse(data[data.length - 1].slice(6)) };
}

/** Every record, newest first, following the list's cursor. */
export async function listAll(url) {
  const all = [];
  let cursor;
  do {
    const res = await fetch(`${url}/uploads?limit=100${cursor ? `&cursor=${cursor}` : ''}`, { signal: AbortSignal.timeout(30_000) });
    const page = await res.json();
    if (res.status !== 200) throw new Error(`GET /uploads answered ${res.status}: ${JSON.stringify(page)}`);
    all.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return all;
}

/** SHA-256 and length of the downloaded content, or the status when it is not 200. */
export async function downloadDigest(url, id) {
  const res = await fetch(`${url}/uploads/${id}/content`, { signal: AbortSignal.timeout(30_000) });
  const bytes = Buffer.from(await res.arrayBuffer());
  return res.status === 200 ? { status: 200, sha256: sha256(bytes), size: bytes.length } : { status: res.status };
}

export async function health(url) {
  const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(10_000) });
  return res.json();
}
