import { createHash, randomBytes } from 'node:crypto';
import { type ContentHash, HashThread, inlineHash } from './content-hash.js';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Feeds `data` in the given chunk sizes (cycled), honouring backpressure. */
async function feed(hash: ContentHash, data: Buffer, sizes: number[]): Promise<string> {
  let at = 0;
  for (let i = 0; at < data.length; i++) {
    const n = sizes[i % sizes.length];
    const pending = hash.update(data.subarray(at, at + n));
    if (pending) await pending;
    at += n;
  }
  return hash.digest();
}

describe('content hashes', () => {
  let thread: HashThread;

  beforeEach(() => {
    thread = new HashThread();
  });

  afterEach(async () => {
    await thread.close();
  });

  it('inline: the SHA-256 of the bytes', async () => {
    const data = randomBytes(300_000);
    await expect(feed(inlineHash(), data, [1, 65_536, 7])).resolves.toBe(sha256(data));
  });

  it('on the thread: the same digest for uneven chunks, chunks larger than all slots together, and no bytes', async () => {
    const data = randomBytes(9 * 1024 * 1024 + 123);
    await expect(feed(thread.hash(), data, [1, 100_000, 1024 * 1024, 5, 4 * 1024 * 1024])).resolves.toBe(sha256(data));
    await expect(thread.hash().digest()).resolves.toBe(sha256(Buffer.alloc(0)));
  });

  it('on the thread: uploads hashed at the same time do not mix', async () => {
    const files = [randomBytes(1_500_000), randomBytes(900_000), randomBytes(2_100_000)];
    const digests = await Promise.all(files.map((f, i) => feed(thread.hash(), f, [10_000 * (i + 1), 333_333])));
    expect(digests).toEqual(files.map(sha256));
  });

  it('on the thread: an aborted hash leaves the next one correct', async () => {
    const aborted = thread.hash();
    await aborted.update(randomBytes(1_600_000)); // one slot sent, one partly filled
    aborted.abort();
    const data = randomBytes(700_000);
    await expect(feed(thread.hash(), data, [65_536])).resolves.toBe(sha256(data));
  });

  it('on the thread: a hash in progress fails, rather than hangs, when the thread stops', async () => {
    const hash = thread.hash();
    const writes = feed(hash, randomBytes(4 * 1024 * 1024), [512 * 1024]);
    await thread.close();
    await expect(writes).rejects.toThrow('the hashing thread was stopped');
    // A later upload starts a new thread.
    const data = randomBytes(10_000);
    await expect(feed(thread.hash(), data, [4096])).resolves.toBe(sha256(data));
  });
});
