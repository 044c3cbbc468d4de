import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { crc32, deflateSync } from 'node:zlib';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Injectable, Module } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { createTempStorageRoot } from '../src/testing/temp-storage-root.js';
import { UploadReconciler } from '../src/uploads/lifecycle/upload-reconciler.service.js';
import { UploadsModule } from '../src/uploads/module/uploads.module.js';
import { OnUploadEvent } from '../src/uploads/events/on-upload-event.decorator.js';
import { FileReceivedEvent } from '../src/domain/events/file-received.event.js';
import { FileStoredEvent } from '../src/domain/events/file-stored.event.js';
import { ResumableUploadsService } from '../src/uploads/resumable-uploads.service.js';
import { UploadsService } from '../src/uploads/uploads.service.js';
import { UploadOffsetMismatchError } from '../src/domain/errors/upload-offset-mismatch.error.js';
import { baseUrl, randomFile, sha256 } from './support/multipart.js';
import { createTestApp, type TestApp } from './support/test-app.js';
import { heldPatch, TUS, tusMetadata, tusRequest, type TusReply } from './support/tus.js';
import { until } from './support/until.js';

const OFFSET_STREAM = { ...TUS, 'Content-Type': 'application/offset+octet-stream' };
/** A real 1×1 PNG, padded after its end to `size` bytes. */
function pngFile(size: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0]);
  const image = Buffer.concat([
    Buffer.from('89504e470d0a1a0a', 'hex'),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.from([0, 255, 0, 0, 255]))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
  return Buffer.concat([image, Buffer.alloc(size - image.length)]);
}

function idOf(reply: TusReply): string {
  const location = reply.headers.location ?? '';
  return location.slice(location.lastIndexOf('/') + 1);
}

function digest(algorithm: string, bytes: Buffer): string {
  return `${algorithm} ${createHash(algorithm).update(bytes).digest('base64')}`;
}

describe('tus 1.0 protocol (e2e, raw HTTP)', () => {
  let t: TestApp;
  let url: string;

  beforeAll(async () => {
    t = await createTestApp({ MAX_FILE_SIZE: 1024 * 1024 });
    url = await baseUrl(t.server);
  });
  afterAll(() => t.close());

  /** Nothing staged and no record besides `keep`: what a refused or finished request must leave. */
  async function leftBehind(keep: string[] = []): Promise<{ staged: string[]; records: string[] }> {
    const records = (await t.uploads.list({ limit: 100 })).items.filter((r) => r.status !== 'stored' && !keep.includes(r.id));
    return { staged: (await t.staged()).filter((n) => !keep.includes(n)), records: records.map((r) => r.id) };
  }

  async function create(headers: Record<string, string | number> = {}): Promise<string> {
    const reply = await tusRequest(url, 'POST', '/uploads/tus', { ...TUS, ...headers });
    expect(reply.status).toBe(201);
    return idOf(reply);
  }

  async function offsetOf(id: string): Promise<string | undefined> {
    return (await tusRequest(url, 'HEAD', `/uploads/tus/${id}`, TUS)).headers['upload-offset'] as string | undefined;
  }

  async function stagedSize(id: string): Promise<number> {
    return (await stat(join(t.root, 'staging', id))).size;
  }

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
    const offset = Number(
      await until('the dropped PATCH to be recorded', async () => ((await offsetOf(id)) === '0' ? undefined : offsetOf(id))),
    );
    expect(offset).toBe(200_000);
    expect(
      (await tusRequest(url, 'PATCH', `/uploads/tus/${id}`, { ...OFFSET_STREAM, 'Upload-Offset': offset }, file.subarray(offset))).status,
    ).toBe(204);
    expect(await t.uploads.waitUntilSettled(id)).toMatchObject({ sha256: sha256(file), size: file.length });
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

describe('tus 1.0 protocol: types, admission, expiry (e2e)', () => {
  it('judges ALLOWED_MIME_TYPES on the declared type at creation and on the leading bytes when they arrive (415, upload removed)', async () => {
    const t = await createTestApp({ ALLOWED_MIME_TYPES: 'image/png' });
    try {
      const url = await baseUrl(t.server);
      const refused = await tusRequest(url, 'POST', '/uploads/tus', {
        ...TUS,
        'Upload-Length': 5000,
        'Upload-Metadata': tusMetadata({ filetype: 'text/plain' }),
      });
      expect(refused.status).toBe(415);
      expect(await t.staged()).toEqual([]);

      const png = { ...TUS, 'Upload-Length': 5000, 'Upload-Metadata': tusMetadata({ filetype: 'image/png' }) };
      const liar = idOf(await tusRequest(url, 'POST', '/uploads/tus', png));
      await tusRequest(url, 'PATCH', `/uploads/tus/${liar}`, { ...OFFSET_STREAM, 'Upload-Offset': 0 }, 'not a png');
      const judged = await tusRequest(url, 'PATCH', `/uploads/tus/${liar}`, { ...OFFSET_STREAM, 'Upload-Offset': 9 }, randomFile(4991));
      expect(judged.status).toBe(415);
      expect((await tusRequest(url, 'HEAD', `/uploads/tus/${liar}`, TUS)).status).toBe(404);

      const real = idOf(await tusRequest(url, 'POST', '/uploads/tus', png));
      const bytes = pngFile(5000);
      expect((await tusRequest(url, 'PATCH', `/uploads/tus/${real}`, { ...OFFSET_STREAM, 'Upload-Offset': 0 }, bytes)).status).toBe(204);
      expect(await t.uploads.waitUntilSettled(real)).toMatchObject({ mimeType: 'image/png' });
      expect(await t.staged()).toEqual([]);
      expect((await t.uploads.list()).items.map((r) => r.id)).toEqual([real]);
    } finally {
      await t.close();
    }
  });

  it('admission applies as for POST: 503 with Retry-After at creation and for a PATCH, and nothing changes', async () => {
    const open = await createTestApp();
    const id = idOf(await tusRequest(await baseUrl(open.server), 'POST', '/uploads/tus', { ...TUS, 'Upload-Length': 10 }));
    await open.close({ keepRoot: true });
    const full = await createTestApp({ MIN_FREE_DISK_BYTES: Number.MAX_SAFE_INTEGER }, undefined, open.root);
    try {
      const url = await baseUrl(full.server);
      const created = await tusRequest(url, 'POST', '/uploads/tus', { ...TUS, 'Upload-Length': 10 });
      expect(created.status).toBe(503);
      expect(created.headers['retry-after']).toBeDefined();
      const patched = await tusRequest(url, 'PATCH', `/uploads/tus/${id}`, { ...OFFSET_STREAM, 'Upload-Offset': 0 }, '12345');
      expect(patched.status).toBe(503);
      expect(patched.headers['retry-after']).toBeDefined();
      expect((await tusRequest(url, 'HEAD', `/uploads/tus/${id}`, TUS)).headers['upload-offset']).toBe('0');
      expect(await full.staged()).toEqual([id]);
      expect((await full.uploads.list()).items.map((r) => r.id)).toEqual([id]);
    } finally {
      await full.close();
    }
  });

  it('a PATCH that trickles is cut off by the slow-client rate, keeps what arrived, and frees the upload for a resume', async () => {
    const t = await createTestApp({ UPLOAD_MIN_BYTES_PER_SEC: 1000, UPLOAD_RATE_WINDOW_MS: 500 });
    try {
      const url = await baseUrl(t.server);
      const file = randomFile(100_000);
      const id = idOf(await tusRequest(url, 'POST', '/uploads/tus', { ...TUS, 'Upload-Length': file.length }));
      // 20 kB at once, then a byte every 100 ms: 10 bytes/s, under the 1000 asked for.
      const slow = heldPatch(
        url,
        `/uploads/tus/${id}`,
        { ...OFFSET_STREAM, 'Upload-Offset': 0, 'Content-Length': file.length },
        file.subarray(0, 20_000),
      );
      slow.reply.catch(() => undefined);
      let sent = 20_000;
      const trickle = setInterval(() => slow.write(file.subarray(sent, ++sent)), 100);
      try {
        await until('the trickling PATCH to be cut off', async () =>
          Number((await tusRequest(url, 'HEAD', `/uploads/tus/${id}`, TUS)).headers['upload-offset']) >= 20_000 && (await slow.closed())
            ? true
            : undefined,
        );
      } finally {
        clearInterval(trickle);
      }
      const offset = Number((await tusRequest(url, 'HEAD', `/uploads/tus/${id}`, TUS)).headers['upload-offset']);
      expect(offset).toBeGreaterThanOrEqual(20_000);
      expect(offset).toBeLessThanOrEqual(sent);
      expect(
        (await tusRequest(url, 'PATCH', `/uploads/tus/${id}`, { ...OFFSET_STREAM, 'Upload-Offset': offset }, file.subarray(offset))).status,
      ).toBe(204);
      expect(await t.uploads.waitUntilSettled(id)).toMatchObject({ status: 'stored', sha256: sha256(file) });
    } finally {
      await t.close();
    }
  });

  it('expiration: an unfinished upload expires (410), the sweep removes its bytes and counts it in /health', async () => {
    const t = await createTestApp({ RESUMABLE_EXPIRY_MS: 500 });
    try {
      const url = await baseUrl(t.server);
      const id = idOf(await tusRequest(url, 'POST', '/uploads/tus', { ...TUS, 'Upload-Length': 10 }));
      await tusRequest(url, 'PATCH', `/uploads/tus/${id}`, { ...OFFSET_STREAM, 'Upload-Offset': 0 }, '12345');
      await until('the upload to expire', async () =>
        (await tusRequest(url, 'HEAD', `/uploads/tus/${id}`, TUS)).status === 410 ? true : undefined,
      );
      const late = await tusRequest(url, 'PATCH', `/uploads/tus/${id}`, { ...OFFSET_STREAM, 'Upload-Offset': 5 }, '67890');
      expect(late.status).toBe(410);
      expect(JSON.parse(late.body)).toMatchObject({ code: 'UPLOAD_EXPIRED' });

      expect(await t.app.get(UploadReconciler).sweep()).toMatchObject({ expiredUploads: 1 });
      expect((await tusRequest(url, 'HEAD', `/uploads/tus/${id}`, TUS)).status).toBe(404);
      expect(await t.staged()).toEqual([]);
      expect((await t.uploads.list()).items).toEqual([]);
      const health = await request(t.server).get('/health').expect(200);
      expect(health.body.details.storage.reconciliation.totals.expiredUploads).toBeGreaterThanOrEqual(1);
    } finally {
      await t.close();
    }
  });
});

describe('resumable uploads from host code (e2e, the module in a host app)', () => {
  it('creates and appends through ResumableUploadsService; @OnUploadEvent listeners see it like any other upload', async () => {
    const seen: string[] = [];
    @Injectable()
    class HostListener {
      @OnUploadEvent(FileReceivedEvent)
      onReceived(event: FileReceivedEvent): void {
        seen.push(`received ${event.uploadId} ${event.size}`);
      }

      @OnUploadEvent(FileStoredEvent)
      onStored(event: FileStoredEvent): void {
        seen.push(`stored ${event.uploadId} ${event.sha256}`);
      }
    }
    const root = await createTempStorageRoot();
    @Module({
      imports: [EventEmitterModule.forRoot(), UploadsModule.forRoot({ storageRoot: root.path, durability: 'fsync' })],
      providers: [HostListener],
    })
    class HostModule {}
    const app = await (await Test.createTestingModule({ imports: [HostModule] }).compile()).createNestApplication({ logger: false }).init();
    try {
      const resumable = app.get(ResumableUploadsService);
      const file = randomFile(70_000);
      const upload = await resumable.create({ length: file.length, filename: 'from-code.bin' });
      expect(upload).toMatchObject({ status: 'receiving', offset: 0, length: file.length });
      const half = await resumable.append(upload.id, Readable.from([file.subarray(0, 30_000)]), { offset: 0 });
      expect(half).toMatchObject({ status: 'receiving', offset: 30_000 });
      await expect(resumable.append(upload.id, Readable.from([file.subarray(0, 10)]), { offset: 0 })).rejects.toBeInstanceOf(
        UploadOffsetMismatchError,
      );
      const done = await resumable.append(upload.id, Readable.from([file.subarray(30_000)]), { offset: 30_000 });
      expect(done).toMatchObject({ status: 'received', size: file.length, sha256: sha256(file) });
      await app.get(UploadsService).waitUntilSettled(upload.id);
      expect(seen).toEqual([`received ${upload.id} ${file.length}`, `stored ${upload.id} ${sha256(file)}`]);
    } finally {
      await app.close();
      await root.cleanup();
    }
  });
});
