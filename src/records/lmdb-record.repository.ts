import { dirname } from 'node:path';
import type { OnApplicationShutdown } from '@nestjs/common';
import { open, type Database, type RootDatabase } from 'lmdb';
import { allOrFirstError, mkdirp, syncDir, syncMadeDirs } from '../common/durable-fs.js';
import { withoutUndefined } from '../common/without-undefined.js';
import type { UploadRecord, UploadStatus } from '../domain/upload-record.js';
import { IdempotencyKeyTakenError } from '../domain/errors/idempotency-key-taken.error.js';
import type {
  ListRecordsQuery,
  TransitionOptions,
  TransitionResult,
  UploadRecordRepository,
} from './upload-record-repository.interface.js';

/** Above every id character ([0-9a-f-]) and the separator, so `${status}${END}` bounds a status's keys. */
const END = '~';
const statusKey = (status: UploadStatus, id: string) => `${status}/${id}`;

/**
 * The embedded default: records in an LMDB file (`<path>`, plus `<path>-lock`). Writes from many
 * uploads share one transaction and one flush (group commit on LMDB's own write thread), so
 * acknowledging an upload costs a fraction of a disk sync instead of a file write, fsync and
 * rename of its own; reads are synchronous lookups in a memory map.
 *
 * Besides the records it keeps, in the same transactions: a status index (`<status>/<id>`), so
 * listing by status and recovery read only what they need, and the idempotency-key claims.
 */
export class LmdbRecordRepository implements UploadRecordRepository, OnApplicationShutdown {
  private root?: RootDatabase;
  private records!: Database<UploadRecord, string>;
  private byStatus!: Database<string, string>;
  private keys!: Database<string, string>;

  constructor(
    private readonly path: string,
    private readonly durable: boolean,
  ) {}

  async init(): Promise<void> {
    const made = await mkdirp(dirname(this.path));
    // separateFlushed: a write resolves once committed (visible, and safe from a process crash);
    // waiting for the disk flush as well is decided per write, see `commit`.
    this.root = open({ path: this.path, noSync: !this.durable, separateFlushed: true });
    this.records = this.root.openDB<UploadRecord, string>({ name: 'records', encoding: 'json' });
    this.byStatus = this.root.openDB<string, string>({ name: 'by-status', encoding: 'string' });
    this.keys = this.root.openDB<string, string>({ name: 'idempotency-keys', encoding: 'string' });
    // LMDB syncs the file's contents, never its directory entry: without this a power loss could
    // take the whole file (and every flushed record) with it. After the open, so that everything
    // this makes exists before it waits for a disk.
    if (this.durable) await allOrFirstError([syncMadeDirs(dirname(this.path), made), syncDir(dirname(this.path))]);
  }

  async onApplicationShutdown(): Promise<void> {
    const root = this.root;
    this.root = undefined;
    await root?.close();
  }

  /** Runs `work` in a write transaction; with `durable`, resolves only once it is flushed to disk. */
  private async commit<T>(work: () => T, durable = true): Promise<T> {
    const result = await this.db.transaction(work);
    if (durable && this.durable) await this.db.flushed;
    return result;
  }

  private get db(): RootDatabase {
    if (!this.root) throw new Error('The record store is closed');
    return this.root;
  }

  async create(record: UploadRecord): Promise<void> {
    // Records are JSON documents: a field set to `undefined` is not kept, as JSON.stringify would not.
    const stored = withoutUndefined(record);
    const owner = await this.commit(() => {
      const key = stored.idempotencyKey;
      if (key !== undefined) {
        const holder = this.keys.get(key);
        // A claim whose record is gone (deleted) is free to take.
        if (holder !== undefined && holder !== stored.id && this.records.get(holder)) return holder;
        void this.keys.put(key, stored.id);
      }
      void this.records.put(stored.id, stored);
      void this.byStatus.put(statusKey(stored.status, stored.id), '');
      return undefined;
    });
    if (owner !== undefined) throw new IdempotencyKeyTakenError(stored.idempotencyKey!, owner);
  }

  async get(id: string): Promise<UploadRecord | undefined> {
    return this.records.get(id);
  }

  transition(
    id: string,
    from: readonly UploadStatus[],
    patch: Partial<Omit<UploadRecord, 'id'>>,
    options?: TransitionOptions,
  ): Promise<TransitionResult> {
    return this.commit((): TransitionResult => {
      const current = this.records.get(id);
      if (!current || !from.includes(current.status)) return { ok: false, current };
      const record = withoutUndefined({ ...current, ...patch, id, updatedAt: new Date().toISOString() });
      void this.records.put(id, record);
      if (record.status !== current.status) {
        void this.byStatus.remove(statusKey(current.status, id));
        void this.byStatus.put(statusKey(record.status, id), '');
      }
      return { ok: true, record };
    }, options?.durable !== false);
  }

  async list(query: ListRecordsQuery): Promise<UploadRecord[]> {
    const page: UploadRecord[] = [];
    if (query.status === undefined) {
      const range = this.records.getRange({
        reverse: true,
        start: query.before,
        exclusiveStart: query.before !== undefined,
        limit: query.limit,
      });
      for (const { value } of range) page.push(value);
      return page;
    }
    const status = query.status;
    const start = query.before === undefined ? `${status}${END}` : statusKey(status, query.before);
    for (const key of this.byStatus.getKeys({ reverse: true, start, end: `${status}/`, exclusiveStart: true, limit: query.limit })) {
      const record = this.records.get(key.slice(status.length + 1));
      if (record) page.push(record);
    }
    return page;
  }

  async findByIdempotencyKey(key: string): Promise<UploadRecord | undefined> {
    const id = this.keys.get(key);
    const record = id === undefined ? undefined : this.records.get(id);
    return record?.idempotencyKey === key ? record : undefined;
  }

  async findByStatus(statuses: readonly UploadStatus[]): Promise<UploadRecord[]> {
    const found: UploadRecord[] = [];
    for (const status of statuses) {
      for (const key of this.byStatus.getKeys({ start: `${status}/`, end: `${status}${END}` })) {
        const record = this.records.get(key.slice(status.length + 1));
        if (record) found.push(record);
      }
    }
    return found.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async countByStatus(status: UploadStatus): Promise<number> {
    return this.byStatus.getKeysCount({ start: `${status}/`, end: `${status}${END}` });
  }

  delete(id: string): Promise<boolean> {
    return this.commit(() => {
      const existing = this.records.get(id);
      if (!existing) return false;
      void this.records.remove(id);
      void this.byStatus.remove(statusKey(existing.status, id));
      const key = existing.idempotencyKey;
      if (key !== undefined && this.keys.get(key) === id) void this.keys.remove(key);
      return true;
    });
  }
}
