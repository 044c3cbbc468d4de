import { v7 as uuidv7 } from 'uuid';
import { IdempotencyKeyTakenError } from '../../src/domain/errors/idempotency-key-taken.error.js';
import type { UploadRecord } from '../../src/domain/upload-record.js';
import type { UploadRecordRepository } from '../../src/records/upload-record-repository.interface.js';

/** A `received` record with a fresh id; `patch` overrides any field. */
export function sampleRecord(patch: Partial<UploadRecord> = {}): UploadRecord {
  const now = new Date().toISOString();
  return {
    id: uuidv7(),
    status: 'received',
    filename: 'a.bin',
    mimeType: 'application/octet-stream',
    size: 3,
    sha256: 'ab'.repeat(32),
    receivedAt: now,
    updatedAt: now,
    attempts: 0,
    ...patch,
  };
}

/**
 * What every record repository promises, run by each backend's spec: `writer` changes the records,
 * `reader` reads them back (the same repository, or a second connection standing for another process).
 * A new backend's spec calls this, and adds what only it can show.
 */
export function recordRepositoryContract(repositories: () => { writer: UploadRecordRepository; reader: UploadRecordRepository }): void {
  it('reads back exactly what was created, and nothing for an unknown id', async () => {
    const { writer, reader } = repositories();
    const created = sampleRecord({ filename: 'résumé 报告 😀.txt', requestId: 'req-1', size: 1024 ** 3 + 7 });
    await writer.create(created);
    expect(await reader.get(created.id)).toEqual(created);
    expect(await reader.get(uuidv7())).toBeUndefined();
  });

  it('applies a transition only from an allowed status, removes fields patched to undefined, and reports what is there otherwise', async () => {
    const { writer, reader } = repositories();
    const created = sampleRecord({ status: 'failed', error: { code: 'IO_ERROR', message: 'disk' }, failedAt: new Date().toISOString() });
    await writer.create(created);

    expect(await writer.transition(created.id, ['received', 'processing'], { status: 'processing' })).toEqual({
      ok: false,
      current: created,
    });

    const retried = await writer.transition(created.id, ['failed'], {
      status: 'received',
      attempts: 0,
      error: undefined,
      failedAt: undefined,
    });
    expect(retried.ok).toBe(true);
    const after = await reader.get(created.id);
    expect(after).toMatchObject({ status: 'received', attempts: 0 });
    expect(after).not.toHaveProperty('error');
    expect(after).not.toHaveProperty('failedAt');
    expect(after!.updatedAt >= created.updatedAt).toBe(true);

    expect(await writer.transition(uuidv7(), ['received'], { status: 'processing' })).toEqual({ ok: false, current: undefined });
  });

  it('lets exactly one of many concurrent transitions win, durable or not: no lost update', async () => {
    const { writer, reader } = repositories();
    const created = sampleRecord();
    await writer.create(created);
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        (i % 2 ? writer : reader).transition(created.id, ['received'], { status: 'processing', attempts: i + 1 }, { durable: i % 4 < 2 }),
      ),
    );
    const winners = results.filter((r) => r.ok);
    expect(winners).toHaveLength(1);
    expect(await reader.get(created.id)).toEqual(winners[0].ok && winners[0].record);
  });

  it('keeps a resumable upload: status receiving with its offset and protocol state, counted and listed by status, until it is received', async () => {
    const { writer: sut } = repositories();
    const receiving = sampleRecord({
      status: 'receiving',
      size: 10,
      sha256: '',
      offset: 10,
      length: 100,
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
      resumable: { metadata: 'filename YS5iaW4=', declaredMimeType: 'text/plain', pendingFrom: 10 },
    });
    await sut.create(receiving);
    expect(await sut.countByStatus('receiving')).toBe(1);
    expect((await sut.list({ status: 'receiving', limit: 10 })).map((r) => r.id)).toEqual([receiving.id]);
    const moved = await sut.transition(receiving.id, ['receiving'], {
      offset: 60,
      size: 60,
      resumable: { metadata: 'filename YS5iaW4=', typeChecked: true, pendingFrom: undefined },
    });
    expect(moved.ok && moved.record).toMatchObject({ status: 'receiving', offset: 60, resumable: { typeChecked: true } });
    expect((await sut.get(receiving.id))?.resumable).toEqual({ metadata: 'filename YS5iaW4=', typeChecked: true });
    const done = await sut.transition(receiving.id, ['receiving'], {
      status: 'received',
      size: 100,
      offset: undefined,
      expiresAt: undefined,
    });
    expect(done.ok && done.record.offset).toBeUndefined();
    expect(await sut.countByStatus('receiving')).toBe(0);
    expect(await sut.countByStatus('received')).toBeGreaterThanOrEqual(1);
  });

  it('claims an idempotency key once, atomically, and frees it when its upload is deleted', async () => {
    const { writer, reader } = repositories();
    const owner = sampleRecord({ idempotencyKey: 'key-ü-1' });
    await writer.create(owner);
    expect((await reader.findByIdempotencyKey('key-ü-1'))?.id).toBe(owner.id);
    expect(await reader.findByIdempotencyKey('key-ü-2')).toBeUndefined();

    const contenders = Array.from({ length: 6 }, (_, i) => (i % 2 ? writer : reader).create(sampleRecord({ idempotencyKey: 'key-ü-1' })));
    for (const outcome of await Promise.allSettled(contenders)) {
      expect(outcome.status).toBe('rejected');
      expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(IdempotencyKeyTakenError);
      expect((outcome as PromiseRejectedResult).reason).toMatchObject({ existingId: owner.id });
    }

    expect(await writer.delete(owner.id)).toBe(true);
    expect(await writer.delete(owner.id)).toBe(false);
    expect(await reader.findByIdempotencyKey('key-ü-1')).toBeUndefined();
    const next = sampleRecord({ idempotencyKey: 'key-ü-1' });
    await reader.create(next);
    expect((await writer.findByIdempotencyKey('key-ü-1'))?.id).toBe(next.id);
  });
}
