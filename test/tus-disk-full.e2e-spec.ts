import { childServerForSuite } from './support/child-server.js';
import { randomFile, sha256 } from './support/multipart.js';
import { settledOverHttp } from './support/settled.js';
import { OFFSET_STREAM, TUS, tusRequest } from './support/tus.js';

const MiB = 1024 * 1024;

describe('tus on a disk that fills (e2e, real process on a 6 MiB tmpfs)', () => {
  const child = childServerForSuite(
    'stowage-tus-full-',
    (root) => ({ UPLOAD_DIR: root, MIN_FREE_DISK_BYTES: '0', MAX_FILE_SIZE: String(64 * MiB) }),
    { tmpfsBytes: 6 * MiB },
  );

  it('answers 507 to a chunk that fills the disk, drops it (the offset stays), and the upload resumes once there is room', async () => {
    const big = await tusRequest(child.server.url, 'POST', '/uploads/tus', { ...TUS, 'Upload-Length': 16 * MiB });
    const id = String(big.headers.location).split('/').pop()!;
    expect(
      (await tusRequest(child.server.url, 'PATCH', `/uploads/tus/${id}`, { ...OFFSET_STREAM, 'Upload-Offset': 0 }, randomFile(MiB))).status,
    ).toBe(204);
    const full = await tusRequest(
      child.server.url,
      'PATCH',
      `/uploads/tus/${id}`,
      { ...OFFSET_STREAM, 'Upload-Offset': MiB },
      randomFile(15 * MiB),
    );
    expect(full.status).toBe(507);
    expect(JSON.parse(full.body)).toMatchObject({ code: 'INSUFFICIENT_STORAGE' });
    expect((await tusRequest(child.server.url, 'HEAD', `/uploads/tus/${id}`, TUS)).headers['upload-offset']).toBe(String(MiB));

    // Room again once the client gives up on it; a small upload goes through.
    expect((await tusRequest(child.server.url, 'DELETE', `/uploads/tus/${id}`, TUS)).status).toBe(204);
    const file = randomFile(2 * MiB);
    const small = await tusRequest(child.server.url, 'POST', '/uploads/tus', { ...OFFSET_STREAM, 'Upload-Length': file.length }, file);
    expect(small.status).toBe(201);
    const smallId = String(small.headers.location).split('/').pop()!;
    expect(await settledOverHttp(child.server.url, smallId)).toMatchObject({ status: 'stored', sha256: sha256(file) });
    // The tmpfs is visible only inside the server's mount namespace: its HEAD is how we look at it.
    expect((await tusRequest(child.server.url, 'HEAD', `/uploads/tus/${id}`, TUS)).status).toBe(404);
  });
});
