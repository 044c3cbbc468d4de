import { S3Client } from '@aws-sdk/client-s3';

/** The connection settings of a client the module makes itself (credentials from the SDK's default chain). */
export interface S3ClientSettings {
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
  requestTimeoutMs: number;
}

export function createS3Client(settings: S3ClientSettings): S3Client {
  return new S3Client({
    region: settings.region,
    endpoint: settings.endpoint,
    forcePathStyle: settings.forcePathStyle,
    // A request whose socket moves nothing for this long fails as a TimeoutError (and is retried).
    requestHandler: { connectionTimeout: settings.requestTimeoutMs, socketTimeout: settings.requestTimeoutMs },
  });
}
