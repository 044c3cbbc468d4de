import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { FileTooLargeError } from '../domain/errors/file-too-large.error.js';
import { SNIFF_BYTES } from './content-type.js';
import { type AppendOptions, ResumableStaging } from './resumable-staging.js';
import { StagingArea } from './staging-area.js';

const dropped = Object.assign(new Error('aborted'), { code: 'ECONNRESET' });

/**
 * A request body whose connection drops while the chunk's reader is busy with its first bytes
 * (here: judging them), after more bytes were already buffered: what a client sent before the drop.
 */
function bodyThatDropsDuringSniff(first: Buffer, rest: Buffer): { source: Readable; sniff: AppendOptions['sniff'] } {
  const source = new Readable({ read() {} });
  source.push(first);
  const sniff = async (): Promise<void> => {
    source.push(rest);
    source.destroy(dropped);
  };
  return { source, sniff };
}

describe('ResumableStaging.append', () => {
  let root: string;
  let staging: StagingArea;
  let files: ResumableStaging;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'stowage-resumable-'));
    staging = new StagingArea(join(root, 'staging'), true);
    await staging.init();
    files = new ResumableStaging(staging, true);
    await files.create('u1');
  });
  afterEach(async () => {
    await files.onApplicationShutdown();
    await staging.onApplicationShutdown();
    await rm(root, { recursive: true, force: true });
  });

  const base = (overrides: Partial<AppendOptions>): AppendOptions => ({
    begin: () => undefined,
    maxTotal: 1024 * 1024,
    tooLarge: () => new FileTooLargeError(1024 * 1024),
    keepOnError: (err) => err === dropped,
    ...overrides,
  });

  it('keeps the bytes a dropped connection had already delivered, including those still buffered', async () => {
    const first = Buffer.alloc(SNIFF_BYTES, 1);
    const rest = Buffer.alloc(30_000, 2);
    const { source, sniff } = bodyThatDropsDuringSniff(first, rest);

    const result = await files.append('u1', source, base({ sniff }));

    expect(result).toMatchObject({ offset: 0, appended: first.length + rest.length, interruptedBy: dropped });
    expect(await readFile(staging.pathOf('u1'))).toEqual(Buffer.concat([first, rest]));
  });

  it('holds the buffered bytes of a dropped connection to the size limit, dropping the chunk past it', async () => {
    const first = Buffer.alloc(SNIFF_BYTES, 1);
    const rest = Buffer.alloc(30_000, 2);
    const { source, sniff } = bodyThatDropsDuringSniff(first, rest);

    await expect(files.append('u1', source, base({ sniff, maxTotal: SNIFF_BYTES + 1000 }))).rejects.toBeInstanceOf(FileTooLargeError);

    expect((await stat(staging.pathOf('u1'))).size).toBe(0);
  });

  it('drops the whole chunk when the source fails for a reason that does not keep bytes', async () => {
    const source = new Readable({ read() {} });
    source.push(Buffer.alloc(SNIFF_BYTES, 1));
    const failure = new Error('checksum header unreadable');
    const sniff = async (): Promise<void> => {
      source.push(Buffer.alloc(1000, 2));
      source.destroy(failure);
    };

    await expect(files.append('u1', source, base({ sniff }))).rejects.toBe(failure);

    expect((await stat(staging.pathOf('u1'))).size).toBe(0);
  });
});
