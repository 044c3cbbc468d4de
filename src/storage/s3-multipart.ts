import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  type CompletedPart,
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { ExpectedContent } from './storage-backend.interface.js';
import { type PartBudget, type PartSource, verify } from './s3-parts.js';

/** Sends the committing request, with the `If-None-Match` value it is given (see `S3Storage.commit`). */
export type Commit = (write: (ifNoneMatch: string | undefined) => Promise<unknown>) => Promise<void>;

/** A multipart upload as the bucket lists it. */
export interface MultipartUpload {
  key: string;
  uploadId: string;
  initiated?: Date;
}

/**
 * The multipart side of the S3 backend: an object larger than one part goes up in parts read in
 * order, hashed on the way and sent `partsInFlight` at a time under the backend's part budget, then
 * committed; and the listing and aborting of multipart uploads that the store and the sweep need.
 */
export class S3Multipart {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly partSize: number,
    private readonly budget: PartBudget,
  ) {}

  /** A multipart upload; aborted at once when anything fails, so a failure leaves no parts behind. */
  async put(
    objectKey: string,
    reader: PartSource,
    expected: ExpectedContent,
    signal: AbortSignal | undefined,
    commit: Commit,
  ): Promise<void> {
    const { UploadId } = await this.client.send(
      new CreateMultipartUploadCommand({
        Bucket: this.bucket,
        Key: objectKey,
        ContentType: expected.contentType,
        Metadata: { sha256: expected.sha256 },
        ChecksumAlgorithm: 'SHA256',
      }),
      { abortSignal: signal },
    );
    const uploadId = UploadId!;
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const parts = await this.sendParts(objectKey, uploadId, reader, expected, stop);
      await commit((ifNoneMatch) =>
        this.client.send(
          new CompleteMultipartUploadCommand({
            Bucket: this.bucket,
            Key: objectKey,
            UploadId: uploadId,
            MultipartUpload: { Parts: parts },
            IfNoneMatch: ifNoneMatch,
          }),
          { abortSignal: signal },
        ),
      );
    } catch (err) {
      stop.abort();
      // Best effort: what stays (S3 unreachable) is aborted by the next run of this upload or the sweep.
      await this.client
        .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: objectKey, UploadId: uploadId }))
        .catch(() => undefined);
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Reads the parts in order (hashing the whole file on the way) and sends each as soon as it is
   * read, while the budget has a buffer for the next; resolves the parts once all are acknowledged
   * and the bytes matched `expected`.
   */
  private async sendParts(
    objectKey: string,
    uploadId: string,
    reader: PartSource,
    expected: ExpectedContent,
    stop: AbortController,
  ): Promise<CompletedPart[]> {
    const hash = createHash('sha256');
    const parts: CompletedPart[] = [];
    const sending = new Set<Promise<void>>();
    let size = 0;
    let failure: unknown;
    for (let number = 1; ; number += 1) {
      const slot = await this.budget.take(this.partSize);
      const read = failure === undefined ? await reader.fill(slot.buffer).catch((err: unknown) => ((failure ??= err), 0)) : 0;
      if (read === 0 || size + read > expected.size) {
        slot.release();
        size += read; // too long: the check below says so
        break;
      }
      const part = slot.buffer.subarray(0, read);
      hash.update(part);
      size += read;
      const sent: Promise<void> = this.sendPart(objectKey, uploadId, number, part, stop.signal)
        .then((done) => void parts.push(done))
        .catch((err: unknown) => {
          failure ??= err;
          stop.abort(); // the parts still in flight are wasted now
        })
        .finally(() => {
          slot.release();
          sending.delete(sent);
        });
      sending.add(sent);
      if (read < this.partSize) break; // the last part
    }
    await Promise.all(sending);
    if (failure !== undefined) throw failure as Error;
    verify(objectKey, size + (await reader.rest()), hash.digest('hex'), expected);
    return parts.sort((a, b) => a.PartNumber! - b.PartNumber!);
  }

  private async sendPart(objectKey: string, uploadId: string, number: number, part: Buffer, signal: AbortSignal): Promise<CompletedPart> {
    const checksum = createHash('sha256').update(part).digest('base64');
    const sent = await this.client.send(
      new UploadPartCommand({
        Bucket: this.bucket,
        Key: objectKey,
        UploadId: uploadId,
        PartNumber: number,
        Body: part,
        ContentLength: part.length,
        ChecksumSHA256: checksum,
      }),
      { abortSignal: signal },
    );
    return { PartNumber: number, ETag: sent.ETag, ChecksumSHA256: sent.ChecksumSHA256 ?? checksum };
  }

  /**
   * Aborts the multipart uploads of `objectKey` that an earlier, interrupted run of this upload left
   * (one upload is stored by one run at a time: a job is held by one worker).
   */
  async abortLeftovers(objectKey: string): Promise<void> {
    for await (const upload of this.uploads(objectKey)) {
      if (upload.key !== objectKey) continue;
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: objectKey, UploadId: upload.uploadId }));
    }
  }

  async *uploads(prefix: string): AsyncGenerator<MultipartUpload> {
    let KeyMarker: string | undefined;
    let UploadIdMarker: string | undefined;
    do {
      const page = await this.client.send(
        new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: prefix, KeyMarker, UploadIdMarker }),
      );
      for (const u of page.Uploads ?? []) if (u.Key && u.UploadId) yield { key: u.Key, uploadId: u.UploadId, initiated: u.Initiated };
      ({ NextKeyMarker: KeyMarker, NextUploadIdMarker: UploadIdMarker } = page);
      if (!page.IsTruncated) break;
    } while (KeyMarker !== undefined);
  }

  /** The latest of the upload's start and its parts' times (some servers report no real start time). */
  async lastTouched(upload: MultipartUpload): Promise<number> {
    const listed = await this.client.send(new ListPartsCommand({ Bucket: this.bucket, Key: upload.key, UploadId: upload.uploadId }));
    return Math.max(upload.initiated?.getTime() ?? 0, ...(listed.Parts ?? []).map((p) => p.LastModified?.getTime() ?? 0));
  }
}
