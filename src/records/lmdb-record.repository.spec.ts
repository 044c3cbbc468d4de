import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import type { UploadRecord } from '../domain/upload-record.js';
import { recordRepositoryContract, sampleRecord } from '../../test/support/record-repository-contract.js';
import { LmdbRecordRepository } from './lmdb-record.repository.js';

// Against a real LMDB file in a temporary directory.
describe('LmdbRecordRepository', () => {
  let dir: string;
  let sut: LmdbRecordRepository;

  const open = async () => {
    const repo = new LmdbRecordRepository(join(dir, 'records.mdb'), true);
    await repo.init();
    return repo;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stowage-lmdb-'));
    sut = await open();
  });
  afterEach(async () => {
    await sut.onApplicationShutdown();
    await rm(dir, { recursive: true, force: true });
  });

  recordRepositoryContract(() => ({ writer: sut, reader: sut }));

  it('reads back exactly what was created, after the store is closed and opened again', async () => {
    const created = sampleRecord({ filename: 'résumé 报告 😀.txt', requestId: 'req-1', size: 1024 ** 3 + 7 });
    await sut.create(created);
    await sut.onApplicationShutdown();
    sut = await open();
    expect(await sut.get(created.id)).toEqual(created);
    expect(await sut.get(uuidv7())).toBeUndefined();
  });

  it('lists newest first in pages, by status through its index, and finds unsettled records oldest first', async () => {
    const made: UploadRecord[] = [];
    for (let i = 0; i < 7; i++) {
      const r = sampleRecord({ filename: `f${i}` });
      made.push(r);
      await sut.create(r);
    }
    await sut.transition(made[1].id, ['received'], { status: 'stored' });
    await sut.transition(made[4].id, ['received'], { status: 'stored' });
    await sut.transition(made[5].id, ['received'], { status: 'processing' }, { durable: false });
    const ids = (rs: UploadRecord[]) => rs.map((r) => r.filename);

    const first = await sut.list({ limit: 3 });
    expect(ids(first)).toEqual(['f6', 'f5', 'f4']);
    expect(ids(await sut.list({ limit: 3, before: first[2].id }))).toEqual(['f3', 'f2', 'f1']);
    expect(ids(await sut.list({ limit: 3, status: 'stored' }))).toEqual(['f4', 'f1']);
    expect(ids(await sut.list({ limit: 1, status: 'stored', before: made[4].id }))).toEqual(['f1']);
    expect(await sut.list({ limit: 5, status: 'failed' })).toEqual([]);
    expect(ids(await sut.findByStatus(['received', 'processing']))).toEqual(['f0', 'f2', 'f3', 'f5', 'f6']);

    expect(await sut.delete(made[4].id)).toBe(true);
    expect(await sut.delete(made[4].id)).toBe(false);
    expect(ids(await sut.list({ limit: 3, status: 'stored' }))).toEqual(['f1']);
  });
});
