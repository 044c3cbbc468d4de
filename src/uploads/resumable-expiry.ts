import type { StructuredLogger } from '../common/structured-logger.js';
import type { UploadRecord } from '../domain/upload-record.js';
import type { UploadLocks } from '../records/upload-locks.interface.js';
import type { UploadRecordRepository } from '../records/upload-record-repository.interface.js';

/** Records read per page while sweeping. */
const PAGE = 256;

/** Whether an unfinished upload is past its expiry. */
export function isExpired(record: UploadRecord, now = Date.now()): boolean {
  return record.status === 'receiving' && record.expiresAt !== undefined && Date.parse(record.expiresAt) <= now;
}

/** What the sweep needs from the service around it. */
export interface ExpirySweepContext {
  records: UploadRecordRepository;
  locks: UploadLocks;
  logger: StructuredLogger;
  /** Removes an upload: record, staged and stored bytes. */
  remove(id: string): Promise<void>;
}

/**
 * Removes every unfinished upload past its expiry (record and bytes), reading them a page at a
 * time and skipping any that a request holds; `checkpoint` is called between steps and may throw to
 * stop. Resolves how many went.
 */
export async function sweepExpiredUploads(context: ExpirySweepContext, checkpoint: () => void): Promise<number> {
  let removed = 0;
  let before: string | undefined;
  const now = Date.now();
  for (;;) {
    checkpoint();
    const page = await context.records.list({ status: 'receiving', limit: PAGE, before });
    for (const record of page) {
      checkpoint();
      if (!isExpired(record, now) || !(await expire(context, record))) continue;
      removed += 1;
      context.logger.warn({
        msg: 'expired resumable upload removed',
        event: 'upload.resumable_expired',
        uploadId: record.id,
        requestId: record.requestId,
        bytes: record.offset ?? 0,
        expiresAt: record.expiresAt,
      });
    }
    if (page.length < PAGE) return removed;
    before = page[page.length - 1].id;
  }
}

/** Removes an expired upload unless a request holds it; resolves whether it was removed. */
async function expire(context: ExpirySweepContext, record: UploadRecord): Promise<boolean> {
  const unlock = await context.locks.acquire(record.id);
  if (!unlock) return false;
  try {
    const current = await context.records.get(record.id);
    if (!current || !isExpired(current)) return false;
    await context.remove(record.id);
    return true;
  } finally {
    await unlock();
  }
}
