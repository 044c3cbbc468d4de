import { createHash, type Hash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { HashThread } from './content-hash.js';

/** Bytes read per step. */
const READ_BYTES = 1024 * 1024;

// CommonJS source, evaluated by the Worker (the same code runs from dist/ and from ts-jest). It
// reads the acknowledged bytes of each file from disk (the page cache, just written) and keeps one
// running SHA-256 per upload; jobs run one at a time, in order.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const states = new Map();
const buffer = Buffer.allocUnsafe(${READ_BYTES});
parentPort.on('message', (m) => {
  if (m.op === 'forget') return void states.delete(m.id);
  try {
    let s = states.get(m.id);
    if (!s || s.offset > m.to) states.set(m.id, (s = { hash: createHash('sha256'), offset: 0 }));
    if (s.offset < m.to) {
      const fd = fs.openSync(m.path, 'r');
      try {
        while (s.offset < m.to) {
          const n = fs.readSync(fd, buffer, 0, Math.min(buffer.length, m.to - s.offset), s.offset);
          if (n === 0) throw new Error('the file ends at ' + s.offset + ', before ' + m.to);
          s.hash.update(buffer.subarray(0, n));
          s.offset += n;
        }
      } finally {
        fs.closeSync(fd);
      }
    }
    if (m.op === 'digest') {
      states.delete(m.id);
      parentPort.postMessage({ seq: m.seq, hex: s.hash.digest('hex') });
    } else parentPort.postMessage({ seq: m.seq });
  } catch (err) {
    states.delete(m.id);
    parentPort.postMessage({ seq: m.seq, error: String((err && err.message) || err) });
  }
});`;

type Reply = { seq: number; hex?: string; error?: string };

/**
 * The whole-file SHA-256 of resumable uploads, computed off the request path. After each chunk is
 * acknowledged (flushed, so its bytes never change) `advance` asks for the file to be hashed up to
 * the new offset, in the background, reading the bytes back from the page cache; `digest` waits for
 * that work to reach the end and finishes it. On a machine with more than one core this runs on a
 * helper thread, so neither the event loop nor the client's next chunk waits for SHA-256.
 *
 * The running state lives only in this process. After a restart, or when another process took the
 * previous chunks, the upload's bytes are hashed from the start again; this is a sequential read of
 * the file, done in the background while the rest arrives (docs/RELIABILITY.md gives its cost).
 */
export class StagedFileHasher {
  private worker?: Worker;
  private seq = 0;
  private readonly waiting = new Map<number, { resolve: (r: Reply) => void }>();
  /** Inline fallback (one core): the same work on the event loop, one job at a time per upload. */
  private readonly inline = new Map<string, { hash: Hash; offset: number; queue: Promise<void> }>();

  constructor(
    private readonly pathOf: (id: string) => string,
    private readonly threaded = HashThread.useful(),
  ) {}

  /** Hashes `id`'s bytes up to `offset` in the background; they are durable and will not change. */
  advance(id: string, offset: number): void {
    void this.run('advance', id, offset).catch(() => undefined); // a failure shows again at digest, which re-reads
  }

  /** The SHA-256 of `id`'s first `length` bytes; the upload's running state is dropped. */
  async digest(id: string, length: number): Promise<string> {
    const reply = await this.run('digest', id, length);
    if (reply.error !== undefined) throw new Error(`hashing staged upload ${id}: ${reply.error}`);
    return reply.hex!;
  }

  forget(id: string): void {
    this.inline.delete(id);
    this.worker?.postMessage({ op: 'forget', id });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    for (const { resolve } of this.waiting.values()) resolve({ seq: -1, error: 'the hashing thread was stopped' });
    this.waiting.clear();
    await worker?.terminate();
  }

  private run(op: 'advance' | 'digest', id: string, to: number): Promise<Reply> {
    if (!this.threaded) return this.runInline(op, id, to);
    const worker = (this.worker ??= this.start());
    const seq = ++this.seq;
    return new Promise<Reply>((resolve) => {
      this.waiting.set(seq, { resolve });
      worker.postMessage({ op, id, to, seq, path: this.pathOf(id) });
    });
  }

  private start(): Worker {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      name: 'stowage-staged-sha256',
      resourceLimits: { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 32 },
    });
    worker.unref(); // never what keeps the process alive
    worker.on('message', (reply: Reply) => {
      const waiter = this.waiting.get(reply.seq);
      this.waiting.delete(reply.seq);
      waiter?.resolve(reply);
    });
    const lost = (err: Error) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      for (const { resolve } of this.waiting.values()) resolve({ seq: -1, error: err.message });
      this.waiting.clear();
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`the hashing thread exited (code ${code})`)));
    return worker;
  }

  private runInline(op: 'advance' | 'digest', id: string, to: number): Promise<Reply> {
    let state = this.inline.get(id);
    if (!state) this.inline.set(id, (state = { hash: createHash('sha256'), offset: 0, queue: Promise.resolve() }));
    const current = state;
    const job = current.queue.then(async (): Promise<Reply> => {
      if (current.offset > to) Object.assign(current, { hash: createHash('sha256'), offset: 0 });
      if (current.offset < to) {
        const file = await open(this.pathOf(id), 'r');
        try {
          const buffer = Buffer.allocUnsafe(READ_BYTES);
          while (current.offset < to) {
            const { bytesRead } = await file.read(buffer, 0, Math.min(READ_BYTES, to - current.offset), current.offset);
            if (bytesRead === 0) throw new Error(`the file ends at ${current.offset}, before ${to}`);
            current.hash.update(buffer.subarray(0, bytesRead));
            current.offset += bytesRead;
          }
        } finally {
          await file.close();
        }
      }
      if (op !== 'digest') return { seq: 0 };
      this.inline.delete(id);
      return { seq: 0, hex: current.hash.digest('hex') };
    });
    current.queue = job.then(
      () => undefined,
      () => void this.inline.delete(id),
    );
    return job.catch((err: unknown) => ({ seq: 0, error: (err as Error).message }));
  }
}
