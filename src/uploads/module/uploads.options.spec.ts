import { InMemoryStorage } from '../../testing/in-memory.storage.js';
import type { StorageBackend } from '../../storage/storage-backend.interface.js';
import { resolveUploadsExtras, resolveUploadsOptions, type UploadsModuleOptions } from './uploads.options.js';

describe('resolveUploadsOptions', () => {
  const sut = resolveUploadsOptions;

  it('fills every default from an empty object', () => {
    expect(sut({})).toMatchObject({
      storageRoot: './uploads',
      maxFileSize: 1024 ** 3,
      allowedMimeTypes: [],
      retry: { attempts: 5, baseDelayMs: 200, maxDelayMs: 30_000 },
      durability: 'fsync',
      storageConcurrency: 32,
      limits: { fields: 10, fieldSize: 65_536, parts: 20, headerPairs: 100 },
      shutdownTimeoutMs: 10_000,
      storage: undefined,
    });
  });

  it('keeps given values, normalizing MIME types', () => {
    const storage = new InMemoryStorage();
    expect(
      sut({
        storageRoot: '/srv/files',
        maxFileSize: 5,
        allowedMimeTypes: [' Image/PNG '],
        retry: { attempts: 2 },
        durability: 'none',
        storageConcurrency: 8,
        storage,
      }),
    ).toMatchObject({
      storageRoot: '/srv/files',
      maxFileSize: 5,
      allowedMimeTypes: ['image/png'],
      retry: { attempts: 2, baseDelayMs: 200, maxDelayMs: 30_000 },
      durability: 'none',
      storageConcurrency: 8,
      storage,
    });
  });

  it.each<[string, unknown, RegExp]>([
    ['storageRoot', { storageRoot: '  ' }, /"storageRoot"/],
    ['maxFileSize', { maxFileSize: -1 }, /"maxFileSize" must not be less than 0 \(got -1\)/],
    [
      'allowedMimeTypes (not an array)',
      { allowedMimeTypes: 'image/png' },
      /"allowedMimeTypes" must be a list of type\/subtype or type\/\*/,
    ],
    ['allowedMimeTypes (bad entry)', { allowedMimeTypes: ['png'] }, /"allowedMimeTypes" must be a list of .*\(got \["png"\]\)/],
    ['durability', { durability: 'sometimes' }, /"durability" must be one of the following values: fsync, none \(got "sometimes"\)/],
    ['retry.attempts', { retry: { attempts: 0 } }, /"retry\.attempts" must not be less than 1 \(got 0\)/],
    ['retry.attempts (too many)', { retry: { attempts: 101 } }, /"retry\.attempts" must not be greater than 100/],
    [
      'retry.maxDelayMs below baseDelayMs',
      { retry: { baseDelayMs: 500, maxDelayMs: 100 } },
      /"retry\.maxDelayMs" \(100\) must not be below "retry\.baseDelayMs" \(500\)/,
    ],
    ['storageConcurrency', { storageConcurrency: 1.5 }, /"storageConcurrency" must be an integer \(got 1\.5\)/],
    ['limits.parts', { limits: { parts: 0 } }, /"limits\.parts"/],
    ['shutdownTimeoutMs', { shutdownTimeoutMs: Number.NaN }, /"shutdownTimeoutMs"/],
    [
      'storage',
      { storage: { put: async () => undefined } },
      /"storage" must implement StorageBackend; missing open\(\), stat\(\), delete\(\)/,
    ],
  ])('rejects a bad %s with a message naming it', (_name, options, message) => {
    expect(() => sut(options as UploadsModuleOptions)).toThrow(message);
  });

  it('rejects options that are not an object, pointing at the factory', () => {
    expect(() => sut(null as unknown as UploadsModuleOptions)).toThrow(
      /options must be an object \(got null\); check what forRootAsync's useFactory returns/,
    );
  });

  it('accepts any object that has the whole StorageBackend contract', () => {
    const custom: StorageBackend = {
      put: async () => undefined,
      open: async () => undefined as never,
      stat: async () => undefined,
      delete: async () => undefined,
    };
    expect(sut({ storage: custom }).storage).toBe(custom);
  });
});

describe('resolveUploadsOptions: where stored bytes go', () => {
  const sut = resolveUploadsOptions;
  const bullmqAll = { transport: 'bullmq', role: 'all' } as const;
  const redis = { url: 'redis://127.0.0.1:6379' };

  it('stores on disk with shared staging by default, with no S3 settings', () => {
    const resolved = sut({});
    expect(resolved).toMatchObject({ storageBackend: 'disk', staging: 'shared' });
    expect(resolved.s3).toBeUndefined();
  });

  it('fills the S3 defaults and trims slashes from the endpoint and the prefix', () => {
    expect(
      sut({ storageBackend: 's3', s3: { bucket: 'files', endpoint: 'http://127.0.0.1:9000/', prefix: 'tenant-a/files/' } }).s3,
    ).toEqual({
      bucket: 'files',
      endpoint: 'http://127.0.0.1:9000',
      region: 'us-east-1',
      forcePathStyle: false,
      prefix: 'tenant-a/files',
      partSize: 8 * 1024 ** 2,
      partsInFlight: 4,
      requestTimeoutMs: 30_000,
      download: 'stream',
      linkExpiresMs: 60_000,
      client: undefined,
    });
  });

  it('lets staging be local to each node with bullmq, role all and storage every node reaches', () => {
    expect(sut({ storageBackend: 's3', s3: { bucket: 'files' }, staging: 'local', redis }, bullmqAll).staging).toBe('local');
    expect(sut({ storage: new InMemoryStorage(), staging: 'local', redis }, bullmqAll).staging).toBe('local');
  });

  it.each<[string, UploadsModuleOptions, object, RegExp]>([
    ['a missing bucket', { storageBackend: 's3' }, {}, /"s3\.bucket" is required with storageBackend "s3"/],
    ['a bad bucket name', { storageBackend: 's3', s3: { bucket: 'My_Bucket' } }, {}, /"s3\.bucket" must be a bucket name/],
    [
      'a part size under 5 MiB',
      { storageBackend: 's3', s3: { bucket: 'files', partSize: 1024 } },
      {},
      /"s3\.partSize" must not be less than 5242880/,
    ],
    ['an endpoint with a path', { storageBackend: 's3', s3: { bucket: 'files', endpoint: 'http://h:9000/x' } }, {}, /"s3\.endpoint"/],
    [
      'a client that is not one',
      { storageBackend: 's3', s3: { bucket: 'files', client: {} as never } },
      {},
      /"s3\.client" must be an S3Client/,
    ],
    [
      'storage and storageBackend s3 both',
      { storage: new InMemoryStorage(), storageBackend: 's3' },
      {},
      /"storage" and "storageBackend" \("s3"\) both choose/,
    ],
    [
      'local staging on the memory transport',
      { staging: 'local', storageBackend: 's3', s3: { bucket: 'b' } },
      {},
      /"staging" is "local", which needs transport "bullmq"/,
    ],
    [
      'local staging on an api node',
      { staging: 'local', storageBackend: 's3', s3: { bucket: 'b' }, redis },
      { transport: 'bullmq', role: 'api' },
      /needs role "all" .*got "api"/,
    ],
    ['local staging with files on each disk', { staging: 'local', redis }, bullmqAll, /needs storage every node reaches/],
  ])('rejects %s with a message naming the option', (_name, options, topology, message) => {
    expect(() => sut(options, { transport: 'memory', role: 'all', ...topology })).toThrow(message);
  });
});

describe('resolveUploadsExtras', () => {
  const sut = resolveUploadsExtras;

  it('defaults to /uploads, no guards and the host’s event emitter', () => {
    expect(sut({})).toMatchObject({ path: 'uploads', guards: [], eventEmitter: 'host' });
  });

  it('trims slashes from the path', () => {
    expect(sut({ path: '/api/files/' }).path).toBe('api/files');
  });

  it.each<[string, object, RegExp]>([
    ['path (empty)', { path: '/' }, /"path" must be a route prefix such as "api\/files" \(got "\/"\)/],
    ['path (traversal)', { path: 'api/../admin' }, /"path"/],
    ['path (route parameter)', { path: 'api/:tenant/files' }, /"path"/],
    ['guards', { guards: [{}] }, /"guards" must be an array of guard classes or instances with canActivate\(\)/],
    ['eventEmitter', { eventEmitter: 'mine' }, /"eventEmitter" must be "host" or "own" \(got "mine"\)/],
  ])('rejects a bad %s with a message naming it', (_name, extras, message) => {
    expect(() => sut(extras)).toThrow(message);
  });
});
