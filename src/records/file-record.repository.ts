import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { UploadRecord, UploadStatus } from '../uploads/upload-record.js';
import { isNotFound, syncDir, writeFileAtomic } from '../storage/durable-fs.js';
import { IdempotencyKeyTakenError } from './idempotency-key-taken.error.js';
import type { ListRecordsQuery, TransitionOptions, TransitionResult, UploadRecordRepository } from './upload-record-repository.interface.js';

const SUFFIX = '.json';
/** Subdirectory of idempotency-key claims, one file per key hash. */
const KEYS = 'keys';
/** Bound of the unsettled records remembered in memory (~0.5 KB each); past it transitions read from disk. */
const MAX_REMEMBERED = 4096;

/**
 * The embedded default: one JSON document per upload under `<dir>`, replaced by write-temp-then-rename.
 * Single-process: transitions on one id are serialised by an in-process lock.
 */
export class FileRecordRepository implements UploadRecordRepository {
  private readonly locks = new Map<string, Promise<unknown>>();
  /**
   * The document this process last wrote for each unsettled record. Only this process writes under
   * `dir`, so the transitions of the storage work can start from it instead of reading the file back.
   * Kept as JSON so no caller can change it.
   */
  private readonly written = new Map<string, string>();

  constructor(
    private readonly dir: string,
    private readonly durable: boolean,
  ) {}

  async init(): Promise<void> {
    await mkdir(join(this.dir, KEYS), { recursive: true });
  }

  private pathOf(id: string): string {
    return join(this.dir, id + SUFFIX);
  }

  async create(record: UploadRecord): Promise<void> {
    const write = () => this.withLock(record.id, () => this.write(record, this.durable));
    const key = record.idempotencyKey;
    if (key === undefined) return write();
    // Claim and record under one lock, so a concurrent claimer finds the owner's record in place.
    await this.withLock(`key:${key}`, async () => {
      await this.claimKey(key, record.id);
      await write();
    });
  }

  /** An exclusive create is the atomic claim; the file holds the id of the upload that owns the key. */
  private async claimKey(key: string, id: string): Promise<void> {
    const path = this.keyPath(key);
    try {
      await writeFile(path, id, { flag: 'wx' });
      if (this.durable) await syncDir(dirname(path));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = (await readFile(path, 'utf8')).trim();
      // A claim whose record never got written (crash in between) is stale: take it over.
      if (owner && (await this.get(owner))) throw new IdempotencyKeyTakenError(key, owner);
      await writeFileAtomic(path, id, this.durable);
    }
  }

  private keyPath(key: string): string {
    return join(this.dir, KEYS, createHash('sha256').update(key).digest('hex'));
  }

  async get(id: string): Promise<UploadRecord | undefined> {
    try {
      return JSON.parse(await readFile(this.pathOf(id), 'utf8')) as UploadRecord;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  transition(id: string, from: readonly UploadStatus[], patch: Partial<Omit<UploadRecord, 'id'>>, options?: TransitionOptions): Promise<TransitionResult> {
    // A step allowed to be lost still syncs its bytes, so a power loss never leaves a torn record.
    const durable = this.durable && (options?.durable === false ? 'contents' : true);
    return this.withLock(id, async () => {
      const remembered = this.written.get(id);
      const current = remembered === undefined ? await this.get(id) : (JSON.parse(remembered) as UploadRecord);
      if (!current || !from.includes(current.status)) return { ok: false as const, current };
      const record: UploadRecord = { ...current, ...patch, id, updatedAt: new Date().toISOString() };
      await this.write(record, durable);
      return { ok: true as const, record };
    });
  }

  async list(query: ListRecordsQuery): Promise<UploadRecord[]> {
    const ids = (await this.ids()).sort().reverse();
    const page: UploadRecord[] = [];
    for (const id of ids) {
      if (query.before !== undefined && id >= query.before) continue;
      const record = await this.get(id);
      if (!record || (query.status && record.status !== query.status)) continue;
      page.push(record);
      if (page.length >= query.limit) break;
    }
    return page;
  }

  async findByIdempotencyKey(key: string): Promise<UploadRecord | undefined> {
    try {
      const record = await this.get((await readFile(this.keyPath(key), 'utf8')).trim());
      return record?.idempotencyKey === key ? record : undefined;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async findByStatus(statuses: readonly UploadStatus[]): Promise<UploadRecord[]> {
    const found: UploadRecord[] = [];
    for (const id of (await this.ids()).sort()) {
      const record = await this.get(id);
      if (record && statuses.includes(record.status)) found.push(record);
    }
    return found;
  }

  delete(id: string): Promise<boolean> {
    return this.withLock(id, async () => {
      this.written.delete(id);
      const existing = await this.get(id);
      await rm(this.pathOf(id), { force: true });
      if (existing?.idempotencyKey !== undefined) await rm(this.keyPath(existing.idempotencyKey), { force: true });
      const existed = existing !== undefined;
      if (existed && this.durable) await syncDir(this.dir);
      return existed;
    });
  }

  /** Call under the record's lock. */
  private async write(record: UploadRecord, durable: boolean | 'contents'): Promise<void> {
    const json = JSON.stringify(record);
    this.written.delete(record.id); // until the write is known to have landed
    await writeFileAtomic(this.pathOf(record.id), json, durable);
    const settled = record.status === 'stored' || record.status === 'failed';
    if (!settled && this.written.size < MAX_REMEMBERED) this.written.set(record.id, json);
  }

  private async ids(): Promise<string[]> {
    const names = await readdir(this.dir);
    return names.filter((n) => n.endsWith(SUFFIX)).map((n) => n.slice(0, -SUFFIX.length));
  }

  private withLock<T>(id: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(id) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch(() => undefined);
    this.locks.set(id, settled);
    void settled.then(() => {
      if (this.locks.get(id) === settled) this.locks.delete(id);
    });
    return next;
  }
}
