import { isMissingPackage, loadOptional } from './optional-package.js';

const missing = (name: string) =>
  Object.assign(new Error(`Cannot find package '${name}' imported from /srv/app/dist/x.js`), { code: 'ERR_MODULE_NOT_FOUND' });

describe('optional packages', () => {
  it('tells a missing package from one that failed to load', () => {
    expect(isMissingPackage(missing('bullmq'), ['bullmq', 'ioredis'])).toBe(true);
    expect(isMissingPackage(missing('left-pad'), ['bullmq'])).toBe(false);
    expect(isMissingPackage(new SyntaxError("Unexpected token in 'bullmq'"), ['bullmq'])).toBe(false);
  });

  it('names every package a feature needs, and how to install them, when one is missing', async () => {
    await expect(
      loadOptional(() => Promise.reject(missing('ioredis')), 'The bullmq transport', ['@nestjs/bullmq', 'bullmq', 'ioredis']),
    ).rejects.toThrow(
      'The bullmq transport needs @nestjs/bullmq, bullmq, ioredis, which are not installed: npm install @nestjs/bullmq bullmq ioredis',
    );
    await expect(loadOptional(() => Promise.resolve(42), 'x', ['y'])).resolves.toBe(42);
    const broken = new TypeError('boom');
    await expect(loadOptional(() => Promise.reject(broken), 'x', ['y'])).rejects.toBe(broken);
  });
});
