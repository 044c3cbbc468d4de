import type { S3Client } from '@aws-sdk/client-s3';
import type { StorageBackend } from '../../storage/storage-backend.interface.js';
import { optionValue, type UploadsSettingPath } from './uploads.settings.js';
import type { UploadsTopology } from './uploads.topology.js';

/** Where stored bytes go when no `storage` instance is given. */
export type StorageBackendKind = 'disk' | 's3';

/**
 * `shared`: every process sees one staging area (one volume under `storageRoot`), so any worker can
 * store any upload. `local`: each node stages on its own disk and stores its own uploads.
 */
export type StagingMode = 'shared' | 'local';

/**
 * The bucket of `storageBackend: 's3'` and how to reach it (AWS S3 or an S3-compatible server:
 * MinIO, Ceph RGW, R2, …). Credentials come from the AWS SDK's default chain (environment,
 * profile, instance or task role), or from your own `client`.
 */
export interface S3Options {
  /** Bucket of the stored objects; required. It must exist: start-up checks it (HeadBucket). */
  bucket?: string;
  /** Endpoint of an S3-compatible server, e.g. `http://127.0.0.1:9000`; AWS's own when unset. */
  endpoint?: string;
  /** @default 'us-east-1' */
  region?: string;
  /** Path-style URLs (`endpoint/bucket/key`), as MinIO and most S3-compatible servers want. @default false */
  forcePathStyle?: boolean;
  /** Objects are `<prefix>/<upload id>`; without a prefix, `<upload id>`. One prefix per deployment. */
  prefix?: string;
  /** Bytes per multipart part, also the largest object stored with one PUT (5 MiB to 5 GiB). @default 8388608 (8 MiB) */
  partSize?: number;
  /**
   * Parts held in memory at once by this process, across every upload it stores: the S3 backend's
   * memory for bytes in transit is at most `partSize × partsInFlight`. @default 4
   */
  partsInFlight?: number;
  /** A request that moves no bytes for this long is abandoned (and retried). @default 30000 */
  requestTimeoutMs?: number;
  /** `stream`: downloads go through the API. `redirect`: 302 to a presigned URL of the object. @default 'stream' */
  download?: 'stream' | 'redirect';
  /** Lifetime of the presigned download URLs of `download: 'redirect'`. @default 60000 */
  linkExpiresMs?: number;
  /**
   * Your own configured `S3Client` (credentials, retries, proxy agent, …). Its endpoint, region,
   * path style and timeouts are then its own; `bucket` and `prefix` still apply. The module never
   * destroys a client it was given.
   */
  client?: S3Client;
}

export type ResolvedS3Options = Required<Omit<S3Options, 'endpoint' | 'prefix' | 'client'>> &
  Pick<S3Options, 'endpoint' | 'prefix' | 'client'>;

/** The options of {@link UploadsModuleOptions} that say where stored bytes go and where uploads are staged. */
export interface StoragePlacementOptions {
  /** A custom storage backend for the stored bytes; wins over `storageBackend`. @default LocalDiskStorage under `storageRoot/files` */
  storage?: StorageBackend;
  /** The built-in backend for the stored bytes: `disk` (under `storageRoot/files`) or `s3` (see `s3`). @default 'disk' */
  storageBackend?: StorageBackendKind;
  /** The bucket and connection of `storageBackend: 's3'`. */
  s3?: S3Options;
  /**
   * `shared` (one staging volume for every process) or `local` (nodes that share no disk: each
   * stores its own uploads; needs `transport: 'bullmq'`, `role: 'all'` and storage every node
   * reaches, such as `s3`). See SCALING.md. @default 'shared'
   */
  staging?: StagingMode;
}

/** Those options resolved: the backend, its S3 settings when it is the built-in S3 one, and the staging mode. */
export interface StoragePlacement {
  storage?: StorageBackend;
  storageBackend: StorageBackendKind;
  /** Set when the stored bytes go to the built-in S3 backend. */
  s3?: ResolvedS3Options;
  staging: StagingMode;
}

/** Which backend holds the stored bytes, its S3 settings, and whether staging may be local to a node. */
export function resolveStoragePlacement(options: StoragePlacementOptions, topology: UploadsTopology): StoragePlacement {
  const storage = checkedBackend(options.storage);
  const kind = optionValue(options, 'storageBackend');
  const staging = optionValue(options, 'staging');
  if (options.storage !== undefined && options.storageBackend === 's3') {
    throw new Error('UploadsModule options "storage" and "storageBackend" ("s3") both choose the backend: give one of them');
  }
  if (staging === 'local') {
    const why =
      topology.transport !== 'bullmq'
        ? 'transport "bullmq" (nodes share the queue and the records)'
        : topology.role !== 'all'
          ? `role "all" (a node stores what it received; got "${topology.role}")`
          : options.storage === undefined && kind !== 's3'
            ? 'storage every node reaches (storageBackend "s3" or your own storage), since downloads may reach any node'
            : undefined;
    if (why) throw new Error(`UploadsModule option "staging" is "local", which needs ${why}`);
  }
  if (options.storage !== undefined || kind !== 's3') return { storage, storageBackend: kind, staging };
  const value = <P extends UploadsSettingPath>(path: P) => optionValue(options, path);
  const bucket = value('s3.bucket');
  if (bucket === undefined) throw new Error('UploadsModule option "s3.bucket" is required with storageBackend "s3"');
  const client = options.s3?.client;
  if (client !== undefined && typeof (client as { send?: unknown } | null)?.send !== 'function') {
    throw new Error('UploadsModule option "s3.client" must be an S3Client from @aws-sdk/client-s3');
  }
  const s3: ResolvedS3Options = {
    bucket,
    endpoint: value('s3.endpoint')?.replace(/\/+$/, ''),
    region: value('s3.region'),
    forcePathStyle: value('s3.forcePathStyle'),
    prefix: value('s3.prefix')?.replace(/\/+$/, '') || undefined,
    partSize: value('s3.partSize'),
    partsInFlight: value('s3.partsInFlight'),
    requestTimeoutMs: value('s3.requestTimeoutMs'),
    download: value('s3.download'),
    linkExpiresMs: value('s3.linkExpiresMs'),
    client,
  };
  return { storage, storageBackend: kind, staging, s3 };
}

const BACKEND_METHODS = ['put', 'open', 'stat', 'delete'] as const;

/** A custom backend is checked for the whole contract now, not at the first upload that needs it. */
function checkedBackend(storage: StorageBackend | undefined): StorageBackend | undefined {
  if (storage === undefined) return undefined;
  const missing = BACKEND_METHODS.filter((m) => typeof (storage as unknown as Record<string, unknown> | null)?.[m] !== 'function');
  if (missing.length > 0) {
    throw new Error(`UploadsModule option "storage" must implement StorageBackend; missing ${missing.map((m) => `${m}()`).join(', ')}`);
  }
  return storage;
}
