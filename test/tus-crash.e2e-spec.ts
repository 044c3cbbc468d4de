import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { startChildServer, type ChildServer } from './support/child-server.js';
import { randomFile, sha256 } from './support/multipart.js';
import { settledOverHttp } from './support/settled.js';
import { heldPatch, TUS, tusRequest } from './support/tus.js';
import { until } from './support/until.js';

const MiB = 1024 * 1024;
const OFFSET_STREAM = { ...TUS, 'Content-Type': 'application/offset+octet-stream' };

describe('Resumable uploads survive SIGKILL (e2e, the compiled service killed and restarted)', () => {
  let root: string;
  let server: ChildServer | undefined;
  const env = () => ({ UPLOAD_DIR: root, DURABILITY: 'fsync' });

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'stowage-tus-crash-'));
  });
  afterEach(async () => {
    server?.proc.kill('SIGKILL');
    await server?.exited;
    server = undefined;
    await rm(root, { recursive: true, force: true });
  });

  async function kill(): Promise<void> {
    server!.proc.kill('SIGKILL');
    expect((await server!.exited).signal).toBe('SIGKILL');
  }

  async function create(length: number): Promise<string> {
    const reply = await tusRequest(server!.url, 'POST', '/uploads/tus', { ...TUS, 'Upload-Length': length });
    expect(reply.status).toBe(201);
    return String(reply.headers.location).split('/').pop()!;
  }

  async function offsetOf(id: string): Promise<number> {
    const head = await tusRequest(server!.url, 'HEAD', `/uploads/tus/${id}`, TUS);
    expect(head.status).toBe(200);
    return Number(head.headers['upload-offset']);
  }

  /** Sends the rest from the server's offset, then checks: stored, byte-identical, the only record. */
  async function resumeAndCheck(id: string, file: Buffer): Promise<void> {
    const offset = await offsetOf(id);
    const rest = await tusRequest(
      server!.url,
      'PATCH',
      `/uploads/tus/${id}`,
      { ...OFFSET_STREAM, 'Upload-Offset': offset },
      file.subarray(offset),
    );
    expect(rest.status).toBe(204);
    expect(await settledOverHttp(server!.url, id)).toMatchObject({ status: 'stored', size: file.length, sha256: sha256(file) });
    const download = await request(server!.url).get(`/uploads/${id}/content`).responseType('blob').expect(200);
    expect(sha256(download.body as Buffer)).toBe(sha256(file));
    const list = await request(server!.url).get('/uploads').expect(200);
    expect(list.body.items.map((r: { id: string }) => r.id)).toEqual([id]);
    expect(await readdir(join(root, 'staging'))).toEqual([]);
  }

  it('keeps every acknowledged offset when killed right after a PATCH was acknowledged', async () => {
    server = await startChildServer(env());
    const file = randomFile(6 * MiB);
    const id = await create(file.length);
    for (const [from, to] of [
      [0, 2 * MiB],
      [2 * MiB, 3 * MiB + 12_345],
    ]) {
      const reply = await tusRequest(
        server.url,
        'PATCH',
        `/uploads/tus/${id}`,
        { ...OFFSET_STREAM, 'Upload-Offset': from },
        file.subarray(from, to),
      );
      expect(reply.status).toBe(204);
    }
    await kill();

    server = await startChildServer(env());
    expect(await offsetOf(id)).toBe(3 * MiB + 12_345);
    expect((await request(server.url).get(`/uploads/${id}`).expect(200)).body).toMatchObject({
      status: 'receiving',
      offset: 3 * MiB + 12_345,
    });
    await resumeAndCheck(id, file);
  });

  it('killed in the middle of a PATCH: at least the acknowledged offset, and the resumed upload is byte-identical', async () => {
    server = await startChildServer(env());
    const file = randomFile(8 * MiB);
    const id = await create(file.length);
    expect(
      (await tusRequest(server.url, 'PATCH', `/uploads/tus/${id}`, { ...OFFSET_STREAM, 'Upload-Offset': 0 }, file.subarray(0, MiB))).status,
    ).toBe(204);

    const cut = heldPatch(
      server.url,
      `/uploads/tus/${id}`,
      { ...OFFSET_STREAM, 'Upload-Offset': MiB, 'Content-Length': file.length - MiB },
      file.subarray(MiB, 5 * MiB),
    );
    cut.reply.catch(() => undefined);
    await until('the unacknowledged chunk to reach the disk', async () =>
      (await stat(join(root, 'staging', id))).size > 2 * MiB ? true : undefined,
    );
    await kill();
    cut.drop();

    server = await startChildServer(env());
    expect(await offsetOf(id)).toBeGreaterThanOrEqual(MiB);
    await resumeAndCheck(id, file);
  });
});
