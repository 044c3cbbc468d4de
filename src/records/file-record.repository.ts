import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { UploadRecord, UploadStatus } from '../uploads/upload-record.js';
import { isNotFound, syncDir, writeFileAtomic } from '../storage/durable-fs.js';
import type { ListRecordsQuery, TransitionResult, UploadRecordRepository } from './upload-record-repository.interface.js';

const SUFFIX = '.json';

/**
 * The embedded default: one JSON document per upload under `<dir>`, replaced by write-temp-then-rename.
 * Single-process: transitions on one id are serialised by an in-process lock.
 */
export class FileRecordRepository implements UploadRecordRepository {
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly dir: string,
    private readonly durable: boolean,
  ) {}

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  private pathOf(id: string): string {
    return join(this.dir, id + SUFFIX);
  }

  async create(record: UploadRecord): Promise<void> {
    await this.withLock(record.id, () => writeFileAtomic(this.pathOf(record.id), JSON.stringify(record), this.durable));
  }

  async get(id: string): Promise<UploadRecord | undefined> {
    try {
      return JSON.parse(await readFile(this.pathOf(id), 'utf8')) as UploadRecord;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  transition(id: string, from: readonly UploadStatus[], patch: Partial<Omit<UploadRecord, 'id'>>): Promise<TransitionResult> {
    return this.withLock(id, async () => {
      const current = await this.get(id);
      if (!current || !from.includes(current.status)) return { ok: false as const, current };
      const record: UploadRecord = { ...current, ...patch, id, updatedAt: new Date().toISOString() };
      await writeFileAtomic(this.pathOf(id), JSON.stringify(record), this.durable);
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
    for (const id of await this.ids()) {
      const record = await this.get(id);
      if (record?.idempotencyKey === key) return record;
    }
    return undefined;
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
      const existed = (await this.get(id)) !== undefined;
      await rm(this.pathOf(id), { force: true });
      if (existed && this.durable) await syncDir(this.dir);
      return existed;
    });
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
