import { jest } from '@jest/globals';
import type { StagedEntry, StagingArea } from '../../storage/staging-area.js';
import type { UploadRecordRepository } from '../../records/upload-record-repository.interface.js';
import type { TaskTransport } from '../../tasks/task-transport.interface.js';
import { UploadsUnavailableError } from '../../domain/errors/uploads-unavailable.error.js';
import { UploadAdmission } from './upload-admission.service.js';
import type { ResolvedUploadsOptions } from '../module/uploads.options.js';

/** A staging area whose listing and counter the test sets; only what admission reads. */
class FakeStaging {
  entries: StagedEntry[] = [];
  bytesStaged = 0;
  readonly list = jest.fn(async () => this.entries);
}

describe('UploadAdmission with a staging limit', () => {
  let staging: FakeStaging;
  let sut: UploadAdmission;
  let reachable: boolean;

  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
    staging = new FakeStaging();
    const options = {
      backpressure: { maxBacklog: 100, maxStagingBytes: 1000, minFreeBytes: 0, retryAfterSeconds: 3 },
      shutdownTimeoutMs: 1000,
    } as ResolvedUploadsOptions;
    const transport = { backlog: () => 0 } as unknown as TaskTransport;
    reachable = true;
    const records = { available: () => reachable } as unknown as UploadRecordRepository;
    sut = new UploadAdmission(options, transport, staging as unknown as StagingArea, records);
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('lists staging at most once a second however many uploads come and go, and counts what was staged since', async () => {
    staging.entries = [{ id: 'a', size: 400, mtimeMs: 0 }];
    for (let i = 0; i < 50; i++) (await sut.admit())();
    expect(staging.list).toHaveBeenCalledTimes(1);

    staging.bytesStaged += 599; // 999 bytes in all: still under the limit
    (await sut.admit())();
    staging.bytesStaged += 1;
    await expect(sut.admit()).rejects.toEqual(expect.any(UploadsUnavailableError));
    await expect(sut.admit()).rejects.toThrow('Staging area is full');
    expect(staging.list).toHaveBeenCalledTimes(1);
  });

  it('lists again once the measurement is a second old, so stored files free room', async () => {
    staging.entries = [{ id: 'a', size: 1200, mtimeMs: 0 }];
    await expect(sut.admit()).rejects.toThrow('Staging area is full');

    staging.entries = []; // stored meanwhile, by this process or another one
    jest.advanceTimersByTime(1001);
    const release = await sut.admit();
    release();
    expect(staging.list).toHaveBeenCalledTimes(2);
    expect(sut.uploadsInFlight).toBe(0);
  });

  it('refuses while the record store cannot be reached, before any byte is read, and admits again once it can', async () => {
    reachable = false;
    await expect(sut.admit()).rejects.toThrow('The record store cannot be reached');
    expect(staging.list).not.toHaveBeenCalled();

    reachable = true;
    (await sut.admit())();
    expect(sut.uploadsInFlight).toBe(0);
  });
});
