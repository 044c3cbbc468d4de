import request from 'supertest';
import { childServerForSuite } from './support/child-server.js';
import { randomFile, sha256 } from './support/multipart.js';
import { settledOverHttp } from './support/settled.js';

describe('Storage failure path (e2e, real process and its JSON logs)', () => {
  const child = childServerForSuite('stowage-fail-', (root) => ({ UPLOAD_DIR: root, FAULT: 'fail-first-put', STORAGE_CONCURRENCY: '1' }));

  it('ends the failing upload failed with its reason and one error line, and leaves the others alone', async () => {
    const files = [randomFile(10_000), randomFile(20_000), randomFile(30_000)];
    const ids: string[] = [];
    for (const [i, f] of files.entries())
      ids.push((await request(child.server.url).post('/uploads').attach('file', f, `f${i}.bin`).expect(202)).body.id);
    const [doomed, ...others] = ids as [string, ...string[]];

    expect(await settledOverHttp(child.server.url, doomed)).toMatchObject({
      status: 'failed',
      attempts: 1,
      failedAt: expect.any(String),
      error: { code: 'PERMISSION_DENIED', message: expect.stringContaining('permission denied') },
    });
    for (const [i, id] of others.entries()) {
      expect(await settledOverHttp(child.server.url, id)).toMatchObject({ status: 'stored', sha256: sha256(files[i + 1]) });
    }
    await request(child.server.url).get(`/uploads/${doomed}/content`).expect(409);

    const logs = child.server.output.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const errors = logs.filter((l) => (l.level as number) >= 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      event: 'upload.store_failed',
      uploadId: doomed,
      requestId: expect.any(String),
      filename: 'f0.bin',
      attempt: 1,
      errorCode: 'PERMISSION_DENIED',
      err: expect.objectContaining({ message: expect.stringContaining('permission denied'), stack: expect.any(String) }),
    });

    // The failed upload kept its staged bytes, so it can be retried, and then it stores.
    await request(child.server.url).post(`/uploads/${doomed}/retry`).expect(202);
    expect(await settledOverHttp(child.server.url, doomed)).toMatchObject({ status: 'stored', sha256: sha256(files[0]) });
    await request(child.server.url).post(`/uploads/${doomed}/retry`).expect(409);
  });
});
