import { mkdtemp, readdir, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { startChildServer, type ChildServer } from './support/child-server.js';
import { baseUrl, multipartBody, randomFile, sha256 } from './support/multipart.js';
import { createTestApp } from './support/test-app.js';
import { until } from './support/until.js';

/** An upload whose body is sent in two halves, so the test decides when it completes. */
function startUpload(port: number, content: Buffer, name: string) {
  const boundary = `b${name}`;
  const body = multipartBody(boundary, [{ name: 'file', filename: name, content }]);
  const socket = net.connect(port, '127.0.0.1');
  const reply = new Promise<{ status: number; body: string }>((resolve) => {
    let text = '';
    socket.on('data', (c: Buffer) => (text += c.toString()));
    socket.on('close', () => {
      const split = text.indexOf('\r\n\r\n');
      resolve({ status: Number(text.split(' ')[1] ?? 0), body: split < 0 ? '' : text.slice(split + 4) });
    });
    socket.on('error', () => undefined);
  });
  socket.write(
    `POST /uploads HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${body.length}\r\n\r\n`,
  );
  socket.write(body.subarray(0, body.length / 2));
  return { finish: () => socket.write(body.subarray(body.length / 2)), reply };
}

describe('Graceful shutdown (e2e, real process and SIGTERM)', () => {
  let root: string;
  let server: ChildServer | undefined;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'stowage-shutdown-'));
  });
  afterAll(async () => {
    server?.proc.kill('SIGKILL');
    await rm(root, { recursive: true, force: true });
  });

  it('refuses new uploads with 503 while it drains 20 in-flight ones, stores them all and exits 0', async () => {
    const env = { UPLOAD_DIR: root, SHUTDOWN_TIMEOUT_MS: '15000', DURABILITY: 'fsync' };
    server = await startChildServer(env);
    const port = server.port;
    const files = Array.from({ length: 20 }, (_, i) => randomFile(100_000 + i));
    const uploads = files.map((f, i) => startUpload(port, f, `inflight-${i}.bin`));
    await until('20 uploads streaming into staging', async () => ((await readdir(join(root, 'staging'))).length === 20 ? true : undefined));

    server.proc.kill('SIGTERM');
    // Draining: a new upload is refused, told to retry, and its connection closed.
    const refused = await until('a 503 for a new upload', async () => {
      const res = await request(server!.url).post('/uploads').attach('file', Buffer.from('late'), 'late.txt');
      return res.status === 503 ? res : undefined;
    });
    expect(refused.headers['retry-after']).toEqual(expect.any(String));
    expect(refused.headers.connection).toBe('close');
    expect(refused.body).toMatchObject({ statusCode: 503, code: 'UPLOADS_UNAVAILABLE' });

    for (const u of uploads) u.finish();
    const replies = await Promise.all(uploads.map((u) => u.reply));
    expect(replies.map((r) => r.status)).toEqual(files.map(() => 202));
    expect(await server.exited).toEqual({ code: 0, signal: null });

    // Stored before exit, or recovered at the next start: either way stored and byte-identical.
    server = await startChildServer(env);
    const ids = replies.map((r) => (JSON.parse(r.body) as { id: string }).id);
    for (const [i, id] of ids.entries()) {
      const record = await until(`upload ${id} stored`, async () => {
        const res = await request(server!.url).get(`/uploads/${id}`);
        return res.body.status === 'stored' ? res.body : undefined;
      });
      expect(record).toMatchObject({ sha256: sha256(files[i]), size: files[i].length });
    }
  });
});

describe('Closing with connections open (e2e)', () => {
  it('does not wait for a connection that never sent a request, as a browser opens ahead of time', async () => {
    // A headers timeout far beyond the test's: only closing such a socket lets close() return in time.
    const t = await createTestApp({ HTTP_HEADERS_TIMEOUT_MS: 3_600_000 });
    const url = new URL(await baseUrl(t.server));
    const preconnect = net.connect(Number(url.port), url.hostname);
    await new Promise((resolve) => preconnect.once('connect', resolve));
    const preconnectClosed = new Promise((resolve) => preconnect.once('close', resolve));
    // And a keep-alive connection that has been used: Node closes those itself.
    await request(t.server).get('/health').set('Connection', 'keep-alive').expect(200);

    await t.close();
    await preconnectClosed;
  });
});
