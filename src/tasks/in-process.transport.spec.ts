import { FileReceivedEvent } from '../domain/events/file-received.event.js';
import { InProcessTransport } from './in-process.transport.js';
import type { StorageTask, StorageTaskHandler } from './task-transport.interface.js';

const task = (id: string) =>
  new FileReceivedEvent({
    uploadId: id,
    filename: `${id}.txt`,
    mimeType: 'text/plain',
    size: 1,
    sha256: 'a'.repeat(64),
    receivedAt: new Date().toISOString(),
  });

/** Storage work that only runs `run`. */
const work = (run: (task: StorageTask, attempt: number) => Promise<void>): StorageTaskHandler => ({
  run,
  giveUp: async () => undefined,
  finished: async () => undefined,
});

/** A promise the test settles when it wants to. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('InProcessTransport', () => {
  const retry = { attempts: 3, baseDelayMs: 5, maxDelayMs: 10 };

  it('runs every task dispatched before a drain, the queued ones too, before the drain resolves', async () => {
    const sut = new InProcessTransport(1, retry);
    const first = gate();
    const done: string[] = [];
    sut.process(
      work(async (t) => {
        if (t.uploadId === 'a') await first.promise;
        done.push(t.uploadId);
      }),
    );
    await sut.dispatch(task('a'));
    await sut.dispatch(task('b')); // waits behind a: concurrency 1

    const draining = sut.drain(5_000);
    first.open();

    await expect(draining).resolves.toBe(true);
    expect(done).toEqual(['a', 'b']);
  });

  it('runs a task dispatched while it drains, and waits for retries in backoff', async () => {
    const sut = new InProcessTransport(2, retry);
    const attempts = new Map<string, number>();
    const running = gate();
    sut.process(
      work(async (t, attempt) => {
        attempts.set(t.uploadId, attempt);
        if (t.uploadId === 'slow') await running.promise;
        if (t.uploadId === 'flaky' && attempt < 2) throw new Error('transient');
      }),
    );
    await sut.dispatch(task('slow'));
    await sut.dispatch(task('flaky'));

    const draining = sut.drain(5_000);
    await sut.dispatch(task('late'));
    running.open();

    await expect(draining).resolves.toBe(true);
    expect(Object.fromEntries(attempts)).toEqual({ slow: 1, flaky: 2, late: 1 });
  });

  it('refuses work once drained, instead of dropping it silently', async () => {
    const sut = new InProcessTransport(1, retry);
    sut.process(work(async () => undefined));
    await sut.drain(1_000);

    await expect(sut.dispatch(task('after'))).rejects.toThrow(/shut down/);
  });

  it('gives up waiting at the timeout and reports it', async () => {
    const sut = new InProcessTransport(1, retry);
    const never = gate();
    sut.process(work(() => never.promise));
    await sut.dispatch(task('stuck'));

    await expect(sut.drain(20)).resolves.toBe(false);
    never.open();
  });
});
