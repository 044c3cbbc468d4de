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
