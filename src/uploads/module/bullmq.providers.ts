import type { ConfigurableModuleAsyncOptions, ConfigurableModuleOptionsFactory, DynamicModule, Provider } from '@nestjs/common';
import { UploadStatusService } from '../upload-status.service.js';
import { RESOLVED_UPLOADS_OPTIONS } from './uploads.constants.js';
import type { ResolvedUploadsOptions, UploadsModuleOptions } from './uploads.options.js';
import { optionValue } from './uploads.settings.js';
import { resolveQueueOptions, type UploadsTopology } from './uploads.topology.js';
import type { BullMqTransport } from '../../tasks/bullmq.transport.js';
import { UPLOADS_QUEUE } from '../../tasks/storage-job.js';
import { TASK_TRANSPORT } from '../../tasks/task-transport.interface.js';
import { loadOptional } from '../../common/optional-package.js';

// BullMQ, ioredis and @nestjs/bullmq are loaded only by a module instance that uses the `bullmq`
// transport (every import of them below is dynamic): the embedded default never pays for them.

/** What the `bullmq` transport needs beyond the embedded default: optional peers of `stowage`. */
export const BULLMQ_PACKAGES = ['@nestjs/bullmq', 'bullmq', 'ioredis'] as const;

/** One of the transport's files or packages; a missing package is named with the install command. */
export function bullmqImport<T>(load: () => Promise<T>): Promise<T> {
  return loadOptional(load, 'The bullmq transport', BULLMQ_PACKAGES);
}

/** Injection token of the module's own Redis client (records and health), present with the `bullmq` transport. */
export const UPLOADS_REDIS = Symbol('UPLOADS_REDIS');

/** The queue's token as `@nestjs/bullmq` registers it (`getQueueToken(UPLOADS_QUEUE)`; a unit test keeps them equal). */
export const UPLOADS_QUEUE_TOKEN = `BullQueue_${UPLOADS_QUEUE}`;

/** Token of this process's BullMQ worker host (roles `all` and `worker`). */
export const STORAGE_JOB_PROCESSOR = Symbol('STORAGE_JOB_PROCESSOR');

/** Token of the queue-events listener (roles `all` and `api`). */
export const STORAGE_QUEUE_EVENTS = Symbol('STORAGE_QUEUE_EVENTS');

/**
 * The queue's connection and prefix, from the module's `redis` option (merged over the host's
 * `BullModule.forRoot` defaults). Redis is checked first: a queue made on an unreachable Redis would
 * retry forever, even after the start-up it belonged to has failed.
 */
async function queueOptions(options: UploadsModuleOptions, topology: UploadsTopology) {
  const redis = resolveQueueOptions(options, topology).redis!;
  const { connectRedis } = await bullmqImport(() => import('../../records/redis.client.js'));
  await (await connectRedis(redis.url)).quit();
  return { connection: { url: redis.url }, prefix: await queuePrefix(options, redis.prefix) };
}

/**
 * With staging local to each node, only the node that staged an upload can store it, so each node
 * has a queue of its own, named after its disk (`<prefix>:node:<id>:uploads:*`); records stay shared.
 */
async function queuePrefix(options: UploadsModuleOptions, prefix: string): Promise<string> {
  if (optionValue(options, 'staging') !== 'local') return prefix;
  const { nodeIdOf } = await import('../../storage/node-identity.js');
  return `${prefix}:node:${await nodeIdOf(optionValue(options, 'storageRoot'))}`;
}

/** The module's own queue, for `forRoot`. */
export async function storageQueue(options: UploadsModuleOptions, topology: UploadsTopology): Promise<DynamicModule> {
  const { BullModule } = await bullmqImport(() => import('@nestjs/bullmq'));
  return BullModule.registerQueueAsync({ name: UPLOADS_QUEUE, useFactory: () => queueOptions(options, topology) });
}

/** The module's own queue, for `forRootAsync`: the queue needs the options too, so it asks the same source. */
export async function storageQueueAsync(
  options: ConfigurableModuleAsyncOptions<UploadsModuleOptions>,
  topology: UploadsTopology,
): Promise<DynamicModule> {
  const { BullModule } = await bullmqImport(() => import('@nestjs/bullmq'));
  const { useFactory } = options;
  if (useFactory) {
    return BullModule.registerQueueAsync({
      name: UPLOADS_QUEUE,
      imports: options.imports,
      inject: options.inject,
      useFactory: async (...args: unknown[]) => queueOptions(await useFactory(...args), topology),
    });
  }
  const factory = options.useExisting ?? options.useClass;
  if (!factory) throw new Error('UploadsModule.forRootAsync needs useFactory, useClass or useExisting');
  return BullModule.registerQueueAsync({
    name: UPLOADS_QUEUE,
    imports: options.imports,
    inject: [factory],
    extraProviders: options.useClass ? [options.useClass] : [],
    useFactory: async (source: ConfigurableModuleOptionsFactory<UploadsModuleOptions, 'create'>) =>
      queueOptions(await source.create(), topology),
  });
}

/**
 * What the `bullmq` transport adds to a module instance, by role. The BullMQ explorer finds the
 * factory-made processor and listener through their instances' classes.
 */
export function bullMqProviders(role: UploadsTopology['role']): Provider[] {
  const processor: Provider = {
    provide: STORAGE_JOB_PROCESSOR,
    inject: [RESOLVED_UPLOADS_OPTIONS, TASK_TRANSPORT],
    useFactory: async (o: ResolvedUploadsOptions, transport: BullMqTransport) => {
      const { createStorageJobProcessor } = await bullmqImport(() => import('../../tasks/storage-job.processor.js'));
      const { storageConcurrency: concurrency, retry, queue } = o;
      return createStorageJobProcessor(
        { concurrency, retry, lockDurationMs: queue.lockDurationMs, stalledIntervalMs: queue.stalledIntervalMs },
        transport,
      );
    },
  };
  const queueEvents: Provider = {
    provide: STORAGE_QUEUE_EVENTS,
    inject: [UploadStatusService, TASK_TRANSPORT],
    useFactory: async (status: UploadStatusService, transport: BullMqTransport) => {
      const { StorageQueueEvents } = await bullmqImport(() => import('../events/storage-queue.events.js'));
      return new StorageQueueEvents(status, transport);
    },
  };
  return [
    {
      provide: UPLOADS_REDIS,
      inject: [RESOLVED_UPLOADS_OPTIONS],
      useFactory: async (o: ResolvedUploadsOptions) =>
        (await bullmqImport(() => import('../../records/redis.client.js'))).connectRedis(o.redis!.url),
    },
    ...(role === 'api' ? [] : [processor]),
    ...(role === 'worker' ? [] : [queueEvents]),
  ];
}
