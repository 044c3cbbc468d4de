import { createHash } from 'node:crypto';
import { type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { UploadRecord, UploadStatus } from '../domain/upload-record.js';
import { StorageError } from '../domain/errors/storage.error.js';
import { IdempotencyKeyTakenError } from '../domain/errors/idempotency-key-taken.error.js';
import { CREATE_SCRIPT, DELETE_SCRIPT, LIST_SCRIPT, TRANSITION_SCRIPT } from './redis-record.scripts.js';
import type { ListRecordsQuery, TransitionResult, UploadRecordRepository } from './upload-record-repository.interface.js';
import { StructuredLogger } from '../common/structured-logger.js';

type Script = (...args: Array<string | number>) => Promise<unknown>;
type Flat = string[];

/** Records read per round trip when scanning by status. */
const BATCH = 500;

/**
 * Records shared by every process: one Redis hash per upload plus sorted sets by id (all, and per
 * status), so a page is one range read however many records there are. Every write is one Lua
 * script, atomic in Redis. Owns its client and closes it at shutdown.
 */
export class RedisRecordRepository implements UploadRecordRepository, OnApplicationShutdown {
  private readonly logger = new StructuredLogger(RedisRecordRepository.name);
  private readonly base: string;
  private readonly scripts: Record<'create' | 'transition' | 'list' | 'remove', Script>;

  /** `prefix` is the deployment's key prefix; records live under `<prefix>:records`. */
  constructor(
    readonly client: Redis,
    prefix: string,
  ) {
    this.base = `${prefix}:records`;
    client.on('error', (err) => this.logger.warn({ msg: 'records Redis connection error', event: 'upload.redis_error', err }));
    const define = (name: string, lua: string): Script => {
      // Named per script text: several repositories may share one client in tests.
      const command = `stowage_${name}_${createHash('sha1').update(lua).digest('hex').slice(0, 8)}`;
      client.defineCommand(command, { numberOfKeys: 1, lua });
      const fn = (client as unknown as Record<string, Script>)[command];
      return (...args) => reachable(fn.apply(client, args));
    };
    this.scripts = {
      create: define('create', CREATE_SCRIPT),
      transition: define('transition', TRANSITION_SCRIPT),
      list: define('list', LIST_SCRIPT),
      remove: define('delete', DELETE_SCRIPT),
    };
  }

  /** Whether commands can reach Redis now; admission refuses uploads while they cannot. */
  available(): boolean {
    return this.client.status === 'ready';
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }

  private recordKey(id: string): string {
    return `${this.base}:r:${id}`;
  }

  async create(record: UploadRecord): Promise<void> {
    const fields = Object.entries(record).flatMap(([field, value]) => (value === undefined ? [] : [field, JSON.stringify(value)]));
    const owner = await this.scripts.create(
      this.recordKey(record.id),
      this.base,
      record.id,
      record.status,
      record.idempotencyKey ?? '',
      ...fields,
    );
    if (typeof owner === 'string') throw new IdempotencyKeyTakenError(record.idempotencyKey!, owner);
  }

  async get(id: string): Promise<UploadRecord | undefined> {
    return decode(await reachable(this.client.hgetall(this.recordKey(id))));
  }

  async transition(id: string, from: readonly UploadStatus[], patch: Partial<Omit<UploadRecord, 'id'>>): Promise<TransitionResult> {
    const set: Record<string, string> = { updatedAt: JSON.stringify(new Date().toISOString()) };
    const removed: string[] = [];
    for (const [field, value] of Object.entries(patch)) {
      if (field === 'id' || field === 'updatedAt') continue;
      if (value === undefined) removed.push(field);
      else set[field] = JSON.stringify(value);
    }
    const [applied, flat] = (await this.scripts.transition(
      this.recordKey(id),
      this.base,
      id,
      JSON.stringify(from),
      JSON.stringify(set),
      JSON.stringify(removed),
    )) as [number, Flat];
    const record = decode(flat);
    return applied === 1 && record ? { ok: true, record } : { ok: false, current: record };
  }

  async list(query: ListRecordsQuery): Promise<UploadRecord[]> {
    const set = query.status ? `${this.base}:s:${query.status}` : `${this.base}:all`;
    const max = query.before === undefined ? '+' : `(${query.before}`;
    const page = (await this.scripts.list(set, this.base, max, query.limit)) as Flat[];
    return page.map(decode).filter((r): r is UploadRecord => r !== undefined);
  }

  async findByIdempotencyKey(key: string): Promise<UploadRecord | undefined> {
    const id = await reachable(this.client.get(`${this.base}:k:${createHash('sha1').update(key).digest('hex')}`));
    const record = id === null ? undefined : await this.get(id);
    return record?.idempotencyKey === key ? record : undefined;
  }

  async findByStatus(statuses: readonly UploadStatus[]): Promise<UploadRecord[]> {
    const ids = (await reachable(Promise.all(statuses.map((s) => this.client.zrangebylex(`${this.base}:s:${s}`, '-', '+'))))).flat().sort();
    const found: UploadRecord[] = [];
    for (let i = 0; i < ids.length; i += BATCH) {
      const pipeline = this.client.pipeline();
      for (const id of ids.slice(i, i + BATCH)) pipeline.hgetall(this.recordKey(id));
      for (const [err, flat] of (await reachable(pipeline.exec())) ?? []) {
        if (err) throw err;
        const record = decode(flat as Record<string, string>);
        // Read after the index: a record may have moved on in between.
        if (record && statuses.includes(record.status)) found.push(record);
      }
    }
    return found;
  }

  async countByStatus(status: UploadStatus): Promise<number> {
    return this.client.zcard(`${this.base}:s:${status}`);
  }

  async delete(id: string): Promise<boolean> {
    return (await this.scripts.remove(this.recordKey(id), this.base, id)) === 1;
  }
}

/**
 * A command's result, or a transient `UNAVAILABLE` storage error when Redis cannot be reached: the
 * caller answers 503 and retries later, rather than reporting a server fault.
 */
async function reachable<T>(command: Promise<T>): Promise<T> {
  try {
    return await command;
  } catch (err) {
    throw new StorageError('UNAVAILABLE', `records store (Redis): ${(err as Error).message}`, { cause: err });
  }
}

/** A hash (object from HGETALL, or the flat list a script returns) back into a record; empty means none. */
function decode(hash: Record<string, string> | Flat): UploadRecord | undefined {
  const entries: Array<[string, string]> = [];
  if (Array.isArray(hash)) {
    for (let i = 0; i + 1 < hash.length; i += 2) entries.push([hash[i], hash[i + 1]]);
  } else {
    entries.push(...Object.entries(hash));
  }
  if (entries.length === 0) return undefined;
  return Object.fromEntries(entries.map(([field, value]) => [field, JSON.parse(value) as unknown])) as unknown as UploadRecord;
}
