import { randomBytes } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';

/** moto's S3 server of this test run (the e2e global setup starts it, or CI gave one). */
export function testS3Endpoint(): string {
  const endpoint = process.env.STOWAGE_TEST_S3_ENDPOINT;
  if (!endpoint) throw new Error('STOWAGE_TEST_S3_ENDPOINT is not set: the e2e global setup starts moto_server');
  return endpoint;
}

/** A client that reads the bucket directly, not through Stowage. */
export function directClient(endpoint = testS3Endpoint()): S3Client {
  return new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, maxAttempts: 1 });
}

/** A bucket of the test's own in moto, with what the tests check about it, and its removal. */
export interface TestBucket {
  name: string;
  client: S3Client;
  /** Every object key in the bucket. */
  keys(): Promise<string[]>;
  /** An object's bytes, read directly from the bucket. */
  read(key: string): Promise<Buffer>;
  head(key: string): Promise<HeadObjectCommandOutput | undefined>;
  /** Multipart uploads not completed nor aborted, as `key` → count. */
  multipartUploads(): Promise<Array<{ key: string; uploadId: string }>>;
  remove(): Promise<void>;
}

export async function createTestBucket(): Promise<TestBucket> {
  const client = directClient();
  const name = `stowage-test-${randomBytes(6).toString('hex')}`;
  await client.send(new CreateBucketCommand({ Bucket: name }));
  const keys = async () => {
    const all: string[] = [];
    let ContinuationToken: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: name, ContinuationToken }));
      all.push(...(page.Contents ?? []).map((o) => o.Key!));
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
    return all;
  };
  const multipartUploads = async () => {
    const page = await client.send(new ListMultipartUploadsCommand({ Bucket: name }));
    return (page.Uploads ?? []).map((u) => ({ key: u.Key!, uploadId: u.UploadId! }));
  };
  return {
    name,
    client,
    keys,
    multipartUploads,
    async read(key) {
      const got = await client.send(new GetObjectCommand({ Bucket: name, Key: key }));
      return Buffer.from(await got.Body!.transformToByteArray());
    },
    async head(key) {
      return client.send(new HeadObjectCommand({ Bucket: name, Key: key })).catch((err: { name?: string }) => {
        if (err.name === 'NotFound') return undefined;
        throw err;
      });
    },
    async remove() {
      for (const u of await multipartUploads()) {
        await client.send(new AbortMultipartUploadCommand({ Bucket: name, Key: u.key, UploadId: u.uploadId }));
      }
      for (const key of await keys()) await client.send(new DeleteObjectCommand({ Bucket: name, Key: key }));
      await client.send(new DeleteBucketCommand({ Bucket: name })).catch(() => undefined);
      client.destroy();
    },
  };
}

/** The service's settings for `bucket` on moto (or on `endpoint`, e.g. a fault proxy in front of it). */
export function s3Env(bucket: string, endpoint = testS3Endpoint()): Record<string, string> {
  return { STORAGE_BACKEND: 's3', S3_BUCKET: bucket, S3_ENDPOINT: endpoint, S3_FORCE_PATH_STYLE: 'true', S3_REGION: 'us-east-1' };
}
