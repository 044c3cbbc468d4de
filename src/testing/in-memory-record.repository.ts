import { IdempotencyKeyTakenError } from '../domain/errors/idempotency-key-taken.error.js';
import type { ListRecordsQuery, TransitionResult, UploadRecordRepository } from '../records/upload-record-repository.interface.js';
import type { UploadRecord, UploadStatus } from '../domain/upload-record.js';

/** Record repository for unit tests of one class: a Map, with copies in and out like a real store. */
export class InMemoryRecordRepository implements UploadRecordRepository {
  readonly records = new Map<string, UploadRecord>();

  async create(record: UploadRecord): Promise<void> {
    const owner = record.idempotencyKey === undefined ? undefined : await this.findByIdempotencyKey(record.idempotencyKey);
    if (owner) throw new IdempotencyKeyTakenError(record.idempotencyKey!, owner.id);
    this.records.set(record.id, structuredClone(record));
  }

  async get(id: string): Promise<UploadRecord | undefined> {
    const record = this.records.get(id);
    return record && structuredClone(record);
  }

  async transition(id: string, from: readonly UploadStatus[], patch: Partial<Omit<UploadRecord, 'id'>>): Promise<TransitionResult> {
    const current = this.records.get(id);
    if (!current || !from.includes(current.status)) return { ok: false, current: current && structuredClone(current) };
    const record = { ...current, ...patch, id, updatedAt: new Date().toISOString() };
    this.records.set(id, record);
    return { ok: true, record: structuredClone(record) };
  }

  async list(query: ListRecordsQuery): Promise<UploadRecord[]> {
    return [...this.records.values()]
      .filter((r) => (!query.status || r.status === query.status) && (!query.before || r.id < query.before))
      .sort((a, b) => (a.id < b.id ? 1 : -1))
      .slice(0, query.limit);
  }

  async findByIdempotencyKey(key: string): Promise<UploadRecord | undefined> {
    return [...this.records.values()].find((r) => r.idempotencyKey === key);
  }

  async findByStatus(statuses: readonly UploadStatus[]): Promise<UploadRecord[]> {
    return [...this.records.values()].filter((r) => statuses.includes(r.status)).sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  async countByStatus(status: UploadStatus): Promise<number> {
    return [...this.records.values()].filter((r) => r.status === status).length;
  }

  async delete(id: string): Promise<boolean> {
    return this.records.delete(id);
  }
}
