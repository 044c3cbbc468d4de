import { BullModule } from '@nestjs/bullmq';
import type { ConfigurableModuleAsyncOptions, ConfigurableModuleOptionsFactory, DynamicModule, Provider } from '@nestjs/common';
import { connectRedis, UPLOADS_REDIS } from '../records/redis.client.js';
import { RESOLVED_UPLOADS_OPTIONS } from '../uploads/uploads.constants.js';
import type { ResolvedUploadsOptions, UploadsModuleOptions } from '../uploads/uploads.options.js';
import { resolveQueueOptions, type UploadsTopology } from '../uploads/uploads.topology.js';
import { UPLOADS_QUEUE } from './storage-job.js';
import { storageJobProcessorProvider } from './storage-job.processor.js';
import { StorageQueueEvents } from './storage-queue.events.js';

/**
 * The queue's connection and prefix, from the module's `redis` option (merged over the host's
 * `BullModule.forRoot` defaults). Redis is checked first: a queue made on an unreachable Redis would
 * retry forever, even after the start-up it belonged to has failed.
 */
async function queueOptions(options: UploadsModuleOptions, topology: UploadsTopology) {
  const redis = resolveQueueOptions(options, topology).redis!;
  await (await connectRedis(redis.url)).quit();
  return { connection: { url: redis.url }, prefix: redis.prefix };
}

/** The module's own queue, for `forRoot`. */
export function storageQueue(options: UploadsModuleOptions, topology: UploadsTopology): DynamicModule {
  return BullModule.registerQueueAsync({ name: UPLOADS_QUEUE, useFactory: () => queueOptions(options, topology) });
}

/** The module's own queue, for `forRootAsync`: the queue needs the options too, so it asks the same source. */
export function storageQueueAsync(options: ConfigurableModuleAsyncOptions<UploadsModuleOptions>, topology: UploadsTopology): DynamicModule {
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
    useFactory: async (source: ConfigurableModuleOptionsFactory<UploadsModuleOptions, 'create'>) => queueOptions(await source.create(), topology),
  });
}

/** What the `bullmq` transport adds to a module instance, by role. */
export function bullMqProviders(role: UploadsTopology['role']): Provider[] {
  return [
    { provide: UPLOADS_REDIS, inject: [RESOLVED_UPLOADS_OPTIONS], useFactory: (o: ResolvedUploadsOptions) => connectRedis(o.redis!.url) },
    ...(role === 'api' ? [] : [storageJobProcessorProvider()]),
    ...(role === 'worker' ? [] : [StorageQueueEvents]),
  ];
}
