import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { startChildServer, type ChildServer } from './support/child-server.js';
import { multipartBody, randomFile, sha256 } from './support/multipart.js';
import { until } from './support/until.js';
import { settledOverHttp } from './support/settled.js';

async function tempFiles(root: string): Promise<string[]> {
  return readdir(join(root, 'files', '.incomplete')).catch(() => [] as string[]);
}

describe('Crash recovery (e2e, real process killed with SIGKILL)', () => {
  let root: string;
  let server: ChildServer | undefined;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'stowage-crash-'));
  });
  afterEach(async () => {
    server?.proc.kill('SIGKILL');
    await server?.exited;
    server = undefined;
    await rm(root, { recursive: true, force: true });
  });

  it('stores every acknowledged upload after kills mid-upload, before the save and mid-save; shows nothing unacknowledged', async () => {
    const env = { UPLOAD_DIR: root, STORAGE_CONCURRENCY: '1', DURABILITY: 'fsync' };
    server = await startChildServer({ ...env, FAULT: 'hold-mid-save' });

    // A: acknowledged, then the process dies in the middle of saving it.
    const a = randomFile(1024 * 1024);
    const resA = await request(server.url).post('/uploads').attach('file', a, 'a.bin').expect(202);
    await server.line(new RegExp(`^FAULT_REACHED ${resA.body.id}$`));
    // The copy was fed half of A and stalls; the writer batches, so part of that half may still be
    // in memory: what matters is a temp file holding part of A when the process dies.
    await until('a partly written temp file', async () => {
      for (const name of await tempFiles(root)) {
        const { size } = await stat(join(root, 'files', '.incomplete', name));
        if (size > 0 && size < a.length) return name;
      }
      return undefined;
    });

    // B: acknowledged, waiting behind A (concurrency 1): dies before its save starts.
    const b = randomFile(300_000);
    const resB = await request(server.url).post('/uploads').attach('file', b, 'b.bin').expect(202);

    // C: half of the body sent, no 202: dies mid-upload.
    const boundary = 'crashBoundary';
    const bodyC = multipartBody(boundary, [{ name: 'file', filename: 'c.bin', content: randomFile(400_000) }]);
    const socket = net.connect(server.port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write(
      `POST /uploads HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${bodyC.length}\r\n\r\n`,
    );
    socket.write(bodyC.subarray(0, 200_000));
    await until('C to be half staged', async () => {
      const names = (await readdir(join(root, 'staging'))).filter((n) => n !== resA.body.id && n !== resB.body.id);
      return names.length === 1 && (await stat(join(root, 'staging', names[0]))).size > 100_000 ? names[0] : undefined;
    });

    server.proc.kill('SIGKILL');
    expect((await server.exited).signal).toBe('SIGKILL');
    socket.destroy();

    server = await startChildServer(env);
    const recordA = await settledOverHttp(server.url, resA.body.id);
    const recordB = await settledOverHttp(server.url, resB.body.id);
    expect(recordA).toMatchObject({ status: 'stored', sha256: sha256(a), size: a.length });
    expect(recordB).toMatchObject({ status: 'stored', sha256: sha256(b), size: b.length });

    const downloadA = await request(server.url).get(`/uploads/${resA.body.id}/content`).responseType('blob').expect(200);
    expect(sha256(downloadA.body as Buffer)).toBe(sha256(a));
    const downloadB = await request(server.url).get(`/uploads/${resB.body.id}/content`).responseType('blob').expect(200);
    expect(sha256(downloadB.body as Buffer)).toBe(sha256(b));

    const list = await request(server.url).get('/uploads').expect(200);
    expect(list.body.items.map((r: { id: string }) => r.id).sort()).toEqual([resA.body.id, resB.body.id].sort());
    expect(await readdir(join(root, 'staging'))).toEqual([]);
    expect(await tempFiles(root)).toEqual([]);
  });

  it('finishes an upload whose process died after the 202 and before any save began', async () => {
    const env = { UPLOAD_DIR: root, DURABILITY: 'fsync' };
    server = await startChildServer({ ...env, FAULT: 'hold-before-store' });
    const file = randomFile(50_000);
    const res = await request(server.url).post('/uploads').attach('file', file, 'held.bin').expect(202);
    await server.line(new RegExp(`^FAULT_REACHED ${res.body.id}$`));
    server.proc.kill('SIGKILL');
    await server.exited;

    server = await startChildServer(env);
    expect(await settledOverHttp(server.url, res.body.id)).toMatchObject({ status: 'stored', sha256: sha256(file) });
  });

  it('finishes an upload whose process died after its bytes were moved into place and before its record said stored', async () => {
    const env = { UPLOAD_DIR: root, DURABILITY: 'fsync' };
    server = await startChildServer({ ...env, FAULT: 'hold-after-move' });
    const file = randomFile(80_000);
    const res = await request(server.url).post('/uploads').attach('file', file, 'moved.bin').expect(202);
    await server.line(new RegExp(`^FAULT_REACHED ${res.body.id}$`));
    expect(await readdir(join(root, 'staging'))).toEqual([]); // the move happened: only the final copy is left
    expect((await request(server.url).get(`/uploads/${res.body.id}`).expect(200)).body.status).not.toBe('stored');
    server.proc.kill('SIGKILL');
    await server.exited;

    server = await startChildServer(env);
    expect(await settledOverHttp(server.url, res.body.id)).toMatchObject({ status: 'stored', sha256: sha256(file), size: file.length });
    const download = await request(server.url).get(`/uploads/${res.body.id}/content`).responseType('blob').expect(200);
    expect(sha256(download.body as Buffer)).toBe(sha256(file));
  });
});
