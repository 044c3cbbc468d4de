import request from 'supertest';
import { childServerForSuite } from './support/child-server.js';
import { multipartBody, randomFile, sha256 } from './support/multipart.js';
import { sendRaw } from './support/raw-http.js';
import { settledOverHttp } from './support/settled.js';

const MiB = 1024 * 1024;

describe('Disk full (e2e, real process on a 6 MiB tmpfs)', () => {
  const child = childServerForSuite(
    'stowage-full-',
    (root) => ({ UPLOAD_DIR: root, MIN_FREE_DISK_BYTES: '0', MAX_FILE_SIZE: String(64 * MiB) }),
    { tmpfsBytes: 6 * MiB },
  );

  it('answers 507 when the disk fills during an upload, keeps nothing of it, and goes on working', async () => {
    const first = randomFile(MiB);
    const ok = await request(child.server.url).post('/uploads').attach('file', first, 'first.bin').expect(202);

    // A raw socket reads the answer while it is still sending, as the server answers before the body ends.
    const body = multipartBody('fullDisk', [{ name: 'file', filename: 'big.bin', content: randomFile(16 * MiB) }]);
    const tooBig = await sendRaw(child.server.port, {
      head: ['POST /uploads HTTP/1.1', 'Host: x', 'Content-Type: multipart/form-data; boundary=fullDisk', `Content-Length: ${body.length}`],
      body,
    });
    expect(tooBig.status).toBe(507);
    expect(JSON.parse(tooBig.body)).toMatchObject({ statusCode: 507, code: 'INSUFFICIENT_STORAGE' });

    // Had the partial staged bytes stayed, this upload would not fit on the small disk.
    const second = randomFile(MiB);
    const after = await request(child.server.url).post('/uploads').attach('file', second, 'second.bin').expect(202);

    const list = await request(child.server.url).get('/uploads').expect(200);
    expect(list.body.items.map((r: { id: string }) => r.id).sort()).toEqual([ok.body.id, after.body.id].sort());
    for (const [id, bytes] of [
      [ok.body.id, first],
      [after.body.id, second],
    ] as const) {
      expect(await settledOverHttp(child.server.url, id)).toMatchObject({ status: 'stored' });
      const download = await request(child.server.url).get(`/uploads/${id}/content`).responseType('blob').expect(200);
      expect(sha256(download.body as Buffer)).toBe(sha256(bytes));
    }
    await request(child.server.url).get('/health').expect(200);
  });
});
