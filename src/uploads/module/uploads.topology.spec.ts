import { redactUrl } from '../../records/redis-url.js';
import { resolveQueueOptions, resolveTopology } from './uploads.topology.js';

describe('resolveTopology', () => {
  it('defaults to the embedded single process', () => {
    expect(resolveTopology({})).toEqual({ transport: 'memory', role: 'all' });
  });

  it.each([
    [{ transport: 'kafka' }, /"transport" must be one of the following values: memory, bullmq/],
    [{ transport: 'bullmq', role: 'both' }, /"role" must be one of the following values: all, api, worker/],
    [{ role: 'api' }, /"role" is "api", which needs transport "bullmq"/],
    [{ transport: 'memory', role: 'worker' }, /"role" is "worker", which needs transport "bullmq"/],
  ])('rejects %j naming the option', (extras, message) => {
    expect(() => resolveTopology(extras)).toThrow(message);
  });
});

describe('resolveQueueOptions', () => {
  const bullmq = { transport: 'bullmq', role: 'all' } as const;

  it('needs a redis:// URL with bullmq and fills the prefix and worker tuning', () => {
    expect(resolveQueueOptions({ redis: { url: 'redis://10.0.0.5:6379/2' } }, bullmq)).toEqual({
      redis: { url: 'redis://10.0.0.5:6379/2', prefix: 'stowage' },
      queue: { lockDurationMs: 30_000, stalledIntervalMs: 30_000 },
    });
  });

  it('ignores redis with the memory transport', () => {
    expect(resolveQueueOptions({}, { transport: 'memory', role: 'all' })).toEqual({
      queue: { lockDurationMs: 30_000, stalledIntervalMs: 30_000 },
    });
  });

  it.each([
    [{}, /"redis.url" must be a redis:\/\/ or rediss:\/\/ URL .*got nothing/],
    [{ redis: { url: 'http://cache:6379' } }, /"redis.url" must be a redis:\/\//],
    [{ redis: { url: 'redis://u:hunter2@cache:6379', prefix: 'has space' } }, /"redis.prefix" must be/],
    [{ redis: { url: 'redis://cache' }, queue: { lockDurationMs: 0 } }, /"queue.lockDurationMs" must not be less than 100/],
  ])('rejects %j naming the option', (options, message) => {
    expect(() => resolveQueueOptions(options, bullmq)).toThrow(message);
  });

  it('never repeats a password in its messages', () => {
    expect(() => resolveQueueOptions({ redis: { url: 'http://admin:hunter2@cache:6379' } }, bullmq)).toThrow(
      /"http:\/\/admin:\*\*\*@cache:6379"/,
    );
    expect(redactUrl('redis://:hunter2@cache:6379/0')).toBe('redis://:***@cache:6379/0');
  });
});
