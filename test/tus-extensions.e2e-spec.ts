import request from 'supertest';
import { baseUrl, randomFile, sha256 } from './support/multipart.js';
import { createTestApp, type TestApp } from './support/test-app.js';
import { digest, idOf, OFFSET_STREAM, TUS, tusHelpers, tusMetadata, tusRequest } from './support/tus.js';

describe('tus 1.0 extensions (e2e, raw HTTP)', () => {
  let t: TestApp;
  let url: string;
  const { leftBehind, create, offsetOf, stagedSize } = tusHelpers(
    () => t,
    () => url,
  );

  beforeAll(async () => {
    t = await createTestApp({ MAX_FILE_SIZE: 1024 * 1024 });
    url = await baseUrl(t.server);
  });
  afterAll(() => t.close());

  it('checks Upload-Checksum: 460 drops the chunk, 400 for an unknown algorithm, a match is kept (sha1, sha256, md5)', async () => {
    const file = randomFile(3000);
    const id = await create({ 'Upload-Length': file.length });
    const patch = (offset: number, bytes: Buffer, checksum: string) =>
      tusRequest(url, 'PATCH', `/uploads/tus/${id}`, { ...OFFSET_STREAM, 'Upload-Offset': offset, 'Upload-Checksum': checksum }, bytes);

    expect((await patch(0, file.subarray(0, 1000), digest('sha1', file.subarray(0, 1000)))).status).toBe(204);
    const mismatch = await patch(1000, file.subarray(1000, 2000), digest('sha1', file.subarray(0, 1000)));
    expect(mismatch.status).toBe(460);
    expect(JSON.parse(mismatch.body)).toMatchObject({ code: 'CHUNK_CHECKSUM_MISMATCH' });
    expect(await offsetOf(id)).toBe('1000');
    expect(await stagedSize(id)).toBe(1000);
    const unknown = await patch(1000, file.subarray(1000, 2000), 'crc32 AAAAAA==');
    expect(unknown.status).toBe(400);
    expect(await offsetOf(id)).toBe('1000');

    expect((await patch(1000, file.subarray(1000, 2000), digest('sha256', file.subarray(1000, 2000)))).status).toBe(204);
    expect((await patch(2000, file.subarray(2000), digest('md5', file.subarray(2000)))).status).toBe(204);
    expect(await t.uploads.waitUntilSettled(id)).toMatchObject({ sha256: sha256(file), size: file.length });
    expect(await leftBehind()).toEqual({ staged: [], records: [] });
  });

  it('creation-with-upload: the POST body is the first chunk (201 with Upload-Offset)', async () => {
    const file = randomFile(5000);
    const reply = await tusRequest(url, 'POST', '/uploads/tus', { ...OFFSET_STREAM, 'Upload-Length': file.length }, file.subarray(0, 2000));
    expect(reply.status).toBe(201);
    expect(reply.headers['upload-offset']).toBe('2000');
    const id = idOf(reply);
    expect(
      (await tusRequest(url, 'PATCH', `/uploads/tus/${id}`, { ...OFFSET_STREAM, 'Upload-Offset': 2000 }, file.subarray(2000))).status,
    ).toBe(204);
    expect(await t.uploads.waitUntilSettled(id)).toMatchObject({ sha256: sha256(file) });

    const whole = randomFile(100);
    const once = await tusRequest(url, 'POST', '/uploads/tus', { ...OFFSET_STREAM, 'Upload-Length': 100 }, whole);
    expect(once.headers['upload-offset']).toBe('100');
    expect(await t.uploads.waitUntilSettled(idOf(once))).toMatchObject({ sha256: sha256(whole) });
    expect(await leftBehind()).toEqual({ staged: [], records: [] });
  });

  it('creation needs exactly one of Upload-Length and Upload-Defer-Length: 1 (400), and refuses more than Tus-Max-Size (413)', async () => {
    const invalid: Array<Record<string, string | number>> = [
      {},
      { 'Upload-Length': 5, 'Upload-Defer-Length': 1 },
      { 'Upload-Defer-Length': 2 },
      { 'Upload-Length': '-1' },
    ];
    for (const headers of invalid) {
      expect((await tusRequest(url, 'POST', '/uploads/tus', { ...TUS, ...headers })).status).toBe(400);
    }
    const bad = await tusRequest(url, 'POST', '/uploads/tus', { ...TUS, 'Upload-Length': 5, 'Upload-Metadata': 'filename not*base64' });
    expect(bad.status).toBe(400);
    const tooLarge = await tusRequest(url, 'POST', '/uploads/tus', { ...TUS, 'Upload-Length': 1024 * 1024 + 1 });
    expect(tooLarge.status).toBe(413);
    expect(JSON.parse(tooLarge.body)).toMatchObject({ code: 'FILE_TOO_LARGE' });
    expect(await leftBehind()).toEqual({ staged: [], records: [] });
  });

  it('creation-defer-length: the length comes with a later PATCH; one past Tus-Max-Size is cut off with 413 and removed', async () => {
    const file = randomFile(4000);
    const id = await create({ 'Upload-Defer-Length': 1 });
    const head = await tusRequest(url, 'HEAD', `/uploads/tus/${id}`, TUS);
    expect(head.headers).toMatchObject({ 'upload-defer-length': '1', 'upload-offset': '0' });
    expect(head.headers['upload-length']).toBeUndefined();
    await tusRequest(url, 'PATCH', `/uploads/tus/${id}`, { ...OFFSET_STREAM, 'Upload-Offset': 0 }, file.subarray(0, 3000));
    const last = await tusRequest(
      url,
      'PATCH',
      `/uploads/tus/${id}`,
      { ...OFFSET_STREAM, 'Upload-Offset': 3000, 'Upload-Length': 4000 },
      file.subarray(3000),
    );
    expect(last.status).toBe(204);
    expect(await t.uploads.waitUntilSettled(id)).toMatchObject({ sha256: sha256(file), size: 4000 });

    const huge = await create({ 'Upload-Defer-Length': 1 });
    const cut = await tusRequest(
      url,
      'PATCH',
      `/uploads/tus/${huge}`,
      { ...OFFSET_STREAM, 'Upload-Offset': 0, 'Transfer-Encoding': 'chunked' },
      randomFile(1024 * 1024 + 10),
    );
    expect(cut.status).toBe(413);
    expect((await tusRequest(url, 'HEAD', `/uploads/tus/${huge}`, TUS)).status).toBe(404);
    expect(await leftBehind()).toEqual({ staged: [], records: [] });
  });

  it('a chunk past the declared length is refused (413) and changes nothing', async () => {
    const id = await create({ 'Upload-Length': 10 });
    const reply = await tusRequest(url, 'PATCH', `/uploads/tus/${id}`, { ...OFFSET_STREAM, 'Upload-Offset': 0 }, randomFile(11));
    expect(reply.status).toBe(413);
    expect(await offsetOf(id)).toBe('0');
    expect(await stagedSize(id)).toBe(0);
    expect((await tusRequest(url, 'DELETE', `/uploads/tus/${id}`, TUS)).status).toBe(204);
    expect(await leftBehind()).toEqual({ staged: [], records: [] });
  });

  it('termination: DELETE answers 204 and removes the record and the bytes; the URL then answers 404', async () => {
    const id = await create({ 'Upload-Length': 10 });
    await tusRequest(url, 'PATCH', `/uploads/tus/${id}`, { ...OFFSET_STREAM, 'Upload-Offset': 0 }, '12345');
    const deleted = await tusRequest(url, 'DELETE', `/uploads/tus/${id}`, TUS);
    expect(deleted.status).toBe(204);
    expect(deleted.headers['tus-resumable']).toBe('1.0.0');
    for (const method of ['HEAD', 'DELETE']) expect((await tusRequest(url, method, `/uploads/tus/${id}`, TUS)).status).toBe(404);
    expect((await tusRequest(url, 'PATCH', `/uploads/tus/${id}`, { ...OFFSET_STREAM, 'Upload-Offset': 5 }, '67890')).status).toBe(404);
    await request(t.server).get(`/uploads/${id}`).expect(404);
    expect((await tusRequest(url, 'HEAD', '/uploads/tus/not-an-id', TUS)).status).toBe(404);
    expect(await leftBehind()).toEqual({ staged: [], records: [] });
  });

  it('concatenation: partial uploads in parallel, a final one made of them (stored, parts removed); PATCH on the final is 403', async () => {
    const file = randomFile(100_000);
    const halves = [file.subarray(0, 60_000), file.subarray(60_000)];
    const parts = await Promise.all(halves.map((half) => create({ 'Upload-Length': half.length, 'Upload-Concat': 'partial' })));
    await Promise.all(
      parts.map((id, i) => tusRequest(url, 'PATCH', `/uploads/tus/${id}`, { ...OFFSET_STREAM, 'Upload-Offset': 0 }, halves[i])),
    );
    const partHead = await tusRequest(url, 'HEAD', `/uploads/tus/${parts[0]}`, TUS);
    expect(partHead.headers).toMatchObject({ 'upload-concat': 'partial', 'upload-offset': '60000' });
    expect((await request(t.server).get(`/uploads/${parts[0]}`).expect(200)).body.status).toBe('receiving');

    const concat = `final;${url}/uploads/tus/${parts[0]} /uploads/tus/${parts[1]}`;
    const final = await tusRequest(url, 'POST', '/uploads/tus', {
      ...TUS,
      'Upload-Concat': concat,
      'Upload-Metadata': tusMetadata({ filename: 'whole.bin' }),
    });
    expect(final.status).toBe(201);
    const id = idOf(final);
    const head = await tusRequest(url, 'HEAD', `/uploads/tus/${id}`, TUS);
    expect(head.headers).toMatchObject({ 'upload-concat': concat, 'upload-offset': '100000', 'upload-length': '100000' });
    expect((await tusRequest(url, 'PATCH', `/uploads/tus/${id}`, { ...OFFSET_STREAM, 'Upload-Offset': 100_000 }, 'x')).status).toBe(403);
    expect(await t.uploads.waitUntilSettled(id)).toMatchObject({ sha256: sha256(file), size: 100_000, filename: 'whole.bin' });
    for (const part of parts) expect((await tusRequest(url, 'HEAD', `/uploads/tus/${part}`, TUS)).status).toBe(404);

    const unfinished = await create({ 'Upload-Length': 10, 'Upload-Concat': 'partial' });
    expect((await tusRequest(url, 'POST', '/uploads/tus', { ...TUS, 'Upload-Concat': `final;/uploads/tus/${unfinished}` })).status).toBe(
      400,
    );
    await tusRequest(url, 'DELETE', `/uploads/tus/${unfinished}`, TUS);
    expect(await leftBehind()).toEqual({ staged: [], records: [] });
  });
});
