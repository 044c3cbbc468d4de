import { Module } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { createTempStorageRoot } from '../src/testing/temp-storage-root.js';
import { UploadsModule } from '../src/uploads/module/uploads.module.js';
import { baseUrl, randomFile, sha256 } from './support/multipart.js';
import { createTestApp, type TestApp } from './support/test-app.js';
import { heldPatch, idOf, OFFSET_STREAM, TUS, tusHelpers, tusMetadata, tusRequest } from './support/tus.js';
import { until } from './support/until.js';

describe('tus 1.0 core protocol (e2e, raw HTTP)', () => {
  let t: TestApp;
  let url: string;
  const { leftBehind, create, offsetOf, settledOffset, stagedSize } = tusHelpers(
    () => t,
    () => url,
  );

  beforeAll(async () => {
    t = await createTestApp({ MAX_FILE_SIZE: 1024 * 1024 });
    url = await baseUrl(t.server);
  });
  afterAll(() => t.close());

  it('OPTIONS announces the version, every extension, the size limit and the checksum algorithms, without Tus-Resumable', async () => {
    const reply = await tusRequest(url, 'OPTIONS', '/uploads/tus');
    expect(reply.status).toBe(204);
    expect(reply.headers).toMatchObject({
      'tus-version': '1.0.0',
      'tus-max-size': String(1024 * 1024),
      'tus-checksum-algorithm': 'sha1,sha256,md5',
    });
    expect(String(reply.headers['tus-extension']).split(',').sort()).toEqual(
      ['checksum', 'concatenation', 'creation', 'creation-defer-length', 'creation-with-upload', 'expiration', 'termination'].sort(),
    );
    expect(await leftBehind()).toEqual({ staged: [], records: [] });
  });

  it('answers 412 with Tus-Version to another protocol version or none, and creates nothing', async () => {
    for (const headers of [{}, { 'Tus-Resumable': '0.2.2' }] as Array<Record<string, string>>) {
      const reply = await tusRequest(url, 'POST', '/uploads/tus', { ...headers, 'Upload-Length': 5 });
      expect(reply.status).toBe(412);
      expect(reply.headers).toMatchObject({ 'tus-version': '1.0.0', 'tus-resumable': '1.0.0' });
      expect(JSON.parse(reply.body)).toMatchObject({ code: 'TUS_VERSION_UNSUPPORTED' });
    }
    expect(await leftBehind()).toEqual({ staged: [], records: [] });
  });

  it('creates, resumes chunk by chunk and stores: HEAD offsets, status receiving, then the same pipeline as a POST', async () => {
    const file = randomFile(300_000);
    const created = await tusRequest(url, 'POST', '/uploads/tus', {
      ...TUS,
      'Upload-Length': file.length,
      'Upload-Metadata': tusMetadata({ filename: '../report ✓.bin', filetype: 'application/octet-stream' }),
    });
    expect(created.status).toBe(201);
    expect(created.headers['tus-resumable']).toBe('1.0.0');
    expect(new URL(String(created.headers.location), `${url}/uploads/tus`).pathname).toBe(`/uploads/tus/${idOf(created)}`);
    expect(Date.parse(String(created.headers['upload-expires']))).toBeGreaterThan(Date.now());
    const id = idOf(created);

    const head = await tusRequest(url, 'HEAD', `/uploads/tus/${id}`, TUS);
    expect(head.status).toBe(200);
    expect(head.headers).toMatchObject({ 'upload-offset': '0', 'upload-length': String(file.length), 'cache-control': 'no-store' });
    expect(head.headers['upload-metadata']).toBe(tusMetadata({ filename: '../report ✓.bin', filetype: 'application/octet-stream' }));

    const first = await tusRequest(url, 'PATCH', `/uploads/tus/${id}`, { ...OFFSET_STREAM, 'Upload-Offset': 0 }, file.subarray(0, 100_000));
    expect(first.status).toBe(204);
    expect(first.headers['upload-offset']).toBe('100000');
    expect(first.headers['tus-resumable']).toBe('1.0.0');
    expect(first.headers['upload-expires']).toBeDefined();

    const receiving = await request(t.server).get(`/uploads/${id}`).expect(200);
    expect(receiving.body).toMatchObject({ status: 'receiving', offset: 100_000, length: file.length, filename: 'report ✓.bin' });
    const listed = await request(t.server).get('/uploads?status=receiving').expect(200);
    expect(listed.body.items.map((r: { id: string }) => r.id)).toEqual([id]);
    expect((await request(t.server).get('/metrics').expect(200)).text).toMatch(/^stowage_uploads_receiving 1$/m);

    const rest = await tusRequest(
      url,
      'PATCH',
      `/uploads/tus/${id}`,
      { ...OFFSET_STREAM, 'Upload-Offset': 100_000 },
      file.subarray(100_000),
    );
    expect(rest.status).toBe(204);
    expect(rest.headers['upload-offset']).toBe(String(file.length));

    const stored = await t.uploads.waitUntilSettled(id);
    expect(stored).toMatchObject({ status: 'stored', size: file.length, sha256: sha256(file), filename: 'report ✓.bin' });
    const download = await request(t.server).get(`/uploads/${id}/content`).responseType('blob').expect(200);
    expect(sha256(download.body as Buffer)).toBe(sha256(file));
    const done = await tusRequest(url, 'HEAD', `/uploads/tus/${id}`, TUS);
    expect(done.headers).toMatchObject({ 'upload-offset': String(file.length), 'upload-length': String(file.length) });
    expect(done.headers['upload-expires']).toBeUndefined();
    expect((await request(t.server).get('/metrics').expect(200)).text).toMatch(/^stowage_uploads_receiving 0$/m);

    const again = await tusRequest(url, 'PATCH', `/uploads/tus/${id}`, { ...OFFSET_STREAM, 'Upload-Offset': file.length }, 'x');
    expect(again.status).toBe(403);
    expect(await leftBehind()).toEqual({ staged: [], records: [] });
  });

  it('refuses a PATCH without application/offset+octet-stream (415) or at another offset (409), changing nothing', async () => {
    const id = await create({ 'Upload-Length': 10 });
    await tusRequest(url, 'PATCH', `/uploads/tus/${id}`, { ...OFFSET_STREAM, 'Upload-Offset': 0 }, '12345');

    const wrongType = await tusRequest(
      url,
      'PATCH',
      `/uploads/tus/${id}`,
      { ...TUS, 'Content-Type': 'application/octet-stream', 'Upload-Offset': 5 },
      '67890',
    );
    expect(wrongType.status).toBe(415);
    expect(wrongType.headers['tus-resumable']).toBe('1.0.0');
    const wrongOffset = await tusRequest(url, 'PATCH', `/uploads/tus/${id}`, { ...OFFSET_STREAM, 'Upload-Offset': 3 }, '67890');
    expect(wrongOffset.status).toBe(409);
    expect(JSON.parse(wrongOffset.body)).toMatchObject({ code: 'UPLOAD_OFFSET_MISMATCH' });
    const noOffset = await tusRequest(url, 'PATCH', `/uploads/tus/${id}`, OFFSET_STREAM, '67890');
    expect(noOffset.status).toBe(400);

    expect(await offsetOf(id)).toBe('5');
    expect(await stagedSize(id)).toBe(5);
    expect(await leftBehind([id])).toEqual({ staged: [], records: [] });
    await tusRequest(url, 'DELETE', `/uploads/tus/${id}`, TUS);
  });

  it('honours X-HTTP-Method-Override (PATCH, HEAD and DELETE sent as POST); other methods get 405', async () => {
    const id = await create({ 'Upload-Length': 4 });
    const patched = await tusRequest(
      url,
      'POST',
      `/uploads/tus/${id}`,
      { ...OFFSET_STREAM, 'Upload-Offset': 0, 'X-HTTP-Method-Override': 'PATCH' },
      'ab',
    );
    expect(patched.status).toBe(204);
    const head = await tusRequest(url, 'POST', `/uploads/tus/${id}`, { ...TUS, 'X-HTTP-Method-Override': 'HEAD' });
    expect(head.headers['upload-offset']).toBe('2');
    expect((await tusRequest(url, 'GET', `/uploads/tus/${id}`, TUS)).status).toBe(405);
    expect((await tusRequest(url, 'POST', `/uploads/tus/${id}`, { ...TUS, 'X-HTTP-Method-Override': 'DELETE' })).status).toBe(204);
    expect(await leftBehind()).toEqual({ staged: [], records: [] });
  });

  it('one writer per upload: a second PATCH while one is in flight gets 423, and the bytes are never interleaved', async () => {
    const file = randomFile(400_000);
    const id = await create({ 'Upload-Length': file.length });
    // More than the writer gathers before its first write (128 KiB), so the file shows it.
    const first = heldPatch(
      url,
      `/uploads/tus/${id}`,
      { ...OFFSET_STREAM, 'Upload-Offset': 0, 'Content-Length': file.length },
      file.subarray(0, 200_000),
    );
    await until('the first PATCH to be writing', async () => ((await stagedSize(id)) > 0 ? true : undefined));
    const second = await tusRequest(url, 'PATCH', `/uploads/tus/${id}`, { ...OFFSET_STREAM, 'Upload-Offset': 0 }, randomFile(1000));
    expect(second.status).toBe(423);
    expect(JSON.parse(second.body)).toMatchObject({ code: 'UPLOAD_LOCKED' });
    expect((await tusRequest(url, 'DELETE', `/uploads/tus/${id}`, TUS)).status).toBe(423);
    first.send(file.subarray(200_000));
    expect((await first.reply).status).toBe(204);
    expect(await t.uploads.waitUntilSettled(id)).toMatchObject({ sha256: sha256(file) });
    expect(await leftBehind()).toEqual({ staged: [], records: [] });
  });

  it('a PATCH whose connection drops keeps the bytes that arrived, and the upload resumes from there', async () => {
    const file = randomFile(500_000);
    const id = await create({ 'Upload-Length': file.length });
    const cut = heldPatch(
      url,
      `/uploads/tus/${id}`,
      { ...OFFSET_STREAM, 'Upload-Offset': 0, 'Content-Length': file.length },
      file.subarray(0, 200_000),
    );
    cut.reply.catch(() => undefined);
    await until('the first bytes to be written', async () => ((await stagedSize(id)) > 0 ? true : undefined));
    cut.drop();
    const offset = await settledOffset(id);
    expect(offset).toBe(200_000);
    expect(
      (await tusRequest(url, 'PATCH', `/uploads/tus/${id}`, { ...OFFSET_STREAM, 'Upload-Offset': offset }, file.subarray(offset))).status,
    ).toBe(204);
    expect(await t.uploads.waitUntilSettled(id)).toMatchObject({ sha256: sha256(file), size: file.length });
    expect(await leftBehind()).toEqual({ staged: [], records: [] });
  });

  it('works wherever the module is mounted: Location resolves under the mount path', async () => {
    const root = await createTempStorageRoot();
    @Module({
      imports: [EventEmitterModule.forRoot(), UploadsModule.forRoot({ path: 'api/v2/files', storageRoot: root.path, durability: 'none' })],
    })
    class HostModule {}
    const app = await (await Test.createTestingModule({ imports: [HostModule] }).compile()).createNestApplication({ logger: false }).init();
    try {
      const host = await baseUrl(app.getHttpServer());
      const created = await tusRequest(host, 'POST', '/api/v2/files/tus', { ...TUS, 'Upload-Length': 3 });
      const upload = new URL(String(created.headers.location), `${host}/api/v2/files/tus`);
      expect(upload.pathname).toBe(`/api/v2/files/tus/${idOf(created)}`);
      // Behind a proxy that strips a prefix, the same relative Location resolves under the public path.
      expect(new URL(String(created.headers.location), 'https://example.test/public/api/v2/files/tus').pathname).toBe(
        `/public/api/v2/files/tus/${idOf(created)}`,
      );
      expect((await tusRequest(host, 'PATCH', upload.pathname, { ...OFFSET_STREAM, 'Upload-Offset': 0 }, 'abc')).status).toBe(204);
      await request(app.getHttpServer())
        .get(`/api/v2/files/${idOf(created)}`)
        .expect(200);
    } finally {
      await app.close();
      await root.cleanup();
    }
  });
});
