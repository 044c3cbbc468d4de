import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/** Incremental SHA-256 of one upload's bytes. */
export interface ContentHash {
  /**
   * Adds `chunk`, whose bytes must not change until this returns or its promise settles. A returned
   * promise means the hash is behind: await it before the next call (backpressure, so memory stays
   * bounded).
   */
  update(chunk: Buffer): Promise<void> | undefined;
  /** The hex digest; nothing may be added after this is called. */
  digest(): Promise<string>;
  /** Drops an unfinished hash (an aborted upload). */
  abort(): void;
}

/** Hashes on the calling thread: cheapest for small uploads, where a hand-off would cost more than it saves. */
export function inlineHash(): ContentHash {
  const hash = createHash('sha256');
  return {
    update: (chunk) => void hash.update(chunk),
    digest: async () => hash.digest('hex'),
    abort: () => undefined,
  };
}

/**
 * Bytes per hand-off to the hashing thread; each upload has at most `SLOTS` of them in flight.
 * Large slots mean few hand-offs: each one wakes the thread, and on a busy machine the woken thread
 * can take the event loop's core.
 */
const SLOT_BYTES = 1024 * 1024;
const SLOTS = 3;
/** An idle hashing thread is stopped after this long (it holds a few MiB). */
const IDLE_MS = 5_000;

// CommonJS source, evaluated by the Worker: the same code runs from dist/ and from ts-jest.
// Each slot comes back to its sender once hashed, so slots are reused, never garbage.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const hashes = new Map();
parentPort.on('message', (m) => {
  if (m.op === 'update') {
    let hash = hashes.get(m.id);
    if (!hash) hashes.set(m.id, (hash = createHash('sha256')));
    hash.update(new Uint8Array(m.buffer, 0, m.length));
    parentPort.postMessage({ op: 'free', id: m.id, buffer: m.buffer }, [m.buffer]);
  } else if (m.op === 'digest') {
    const hash = hashes.get(m.id) ?? createHash('sha256');
    hashes.delete(m.id);
    parentPort.postMessage({ op: 'digest', id: m.id, hex: hash.digest('hex') });
  } else if (m.op === 'abort') {
    hashes.delete(m.id);
  }
});`;

type ThreadMessage = { op: 'free'; id: number; buffer: ArrayBuffer } | { op: 'digest'; id: number; hex: string };

/**
 * One helper thread that computes SHA-256 for large uploads, so the event loop, which also parses
 * the multipart stream and drives the writes, is not the bottleneck. Each upload copies its bytes
 * into a few fixed slots that travel to the thread and back (transferred, not copied), so memory is
 * bounded by `SLOTS × SLOT_BYTES` per upload. Started on first use, stopped when idle.
 */
export class HashThread {
  private worker?: Worker;
  private readonly hashes = new Map<number, ThreadedHash>();
  private nextId = 1;
  private idleTimer?: NodeJS.Timeout;

  /** Whether handing hashes off can help here: with one core the thread only adds copies. */
  static useful(): boolean {
    return availableParallelism() > 1;
  }

  hash(): ContentHash {
    clearTimeout(this.idleTimer);
    const worker = (this.worker ??= this.start());
    worker.ref();
    const id = this.nextId++;
    const hash = new ThreadedHash(id, worker, () => this.finished(id));
    this.hashes.set(id, hash);
    return hash;
  }

  /** Stops the thread; unfinished hashes fail. */
  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    const worker = this.worker;
    this.worker = undefined;
    this.failAll(new Error('the hashing thread was stopped'));
    await worker?.terminate();
  }

  private start(): Worker {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      name: 'stowage-sha256',
      // Its heap only ever holds a few small messages; keep its footprint to match.
      resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 16 },
    });
    worker.on('message', (m: ThreadMessage) => this.hashes.get(m.id)?.receive(m));
    const lost = (err: Error) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.failAll(err);
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`the hashing thread exited (code ${code})`)));
    return worker;
  }

  private finished(id: number): void {
    this.hashes.delete(id);
    if (this.hashes.size > 0 || !this.worker) return;
    // Idle: let the process exit without it, and stop it unless another large upload comes soon.
    this.worker.unref();
    this.idleTimer = setTimeout(() => void this.close(), IDLE_MS);
    this.idleTimer.unref();
  }

  private failAll(err: Error): void {
    for (const hash of [...this.hashes.values()]) hash.fail(err);
    this.hashes.clear();
  }
}

/** One upload's hash on the {@link HashThread}. */
class ThreadedHash implements ContentHash {
  private readonly free: Buffer[] = [];
  private created = 0;
  private current?: Buffer;
  private filled = 0;
  private waiter?: { resolve: () => void; reject: (err: Error) => void };
  private result?: { resolve: (hex: string) => void; reject: (err: Error) => void };
  private error?: Error;
  private done = false;

  constructor(
    private readonly id: number,
    private readonly worker: Worker,
    private readonly onDone: () => void,
  ) {}

  update(chunk: Buffer): Promise<void> | undefined {
    if (this.error) return Promise.reject(this.error);
    let offset = 0;
    while (offset < chunk.length) {
      if (!this.current) {
        const slot = this.takeSlot();
        if (!slot) return this.updateWhenFree(chunk.subarray(offset));
        this.current = slot;
        this.filled = 0;
      }
      const n = chunk.copy(this.current, this.filled, offset);
      this.filled += n;
      offset += n;
      if (this.filled === SLOT_BYTES) this.send();
    }
    return undefined;
  }

  digest(): Promise<string> {
    if (this.error) return Promise.reject(this.error);
    if (this.filled > 0) this.send();
    this.done = true;
    return new Promise<string>((resolve, reject) => {
      this.result = { resolve, reject };
      this.worker.postMessage({ op: 'digest', id: this.id });
    });
  }

  abort(): void {
    if (this.done) return;
    this.done = true;
    this.worker.postMessage({ op: 'abort', id: this.id });
    this.onDone();
  }

  receive(m: ThreadMessage): void {
    if (m.op === 'free') {
      this.free.push(Buffer.from(m.buffer));
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter?.resolve();
    } else {
      this.onDone();
      this.result?.resolve(m.hex);
    }
  }

  fail(err: Error): void {
    this.error = err;
    this.done = true;
    this.waiter?.reject(err);
    this.result?.reject(err);
    this.waiter = undefined;
    this.result = undefined;
  }

  private takeSlot(): Buffer | undefined {
    if (this.free.length > 0) return this.free.pop();
    if (this.created < SLOTS) {
      this.created++;
      return Buffer.from(new ArrayBuffer(SLOT_BYTES));
    }
    return undefined;
  }

  private async updateWhenFree(rest: Buffer): Promise<void> {
    await new Promise<void>((resolve, reject) => (this.waiter = { resolve, reject }));
    const more = this.update(rest);
    if (more) await more;
  }

  private send(): void {
    const buffer = this.current!.buffer as ArrayBuffer;
    this.worker.postMessage({ op: 'update', id: this.id, buffer, length: this.filled }, [buffer]);
    this.current = undefined;
    this.filled = 0;
  }
}
