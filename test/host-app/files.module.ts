import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { UploadsModule } from 'stowage';
import { FileIndexer } from './file-indexer.listener.js';
import { TenantGuard } from './tenant.guard.js';

@Module({
  imports: [
    UploadsModule.forRootAsync({
      path: 'api/files',
      guards: [TenantGuard],
      inject: [ConfigService],
      useFactory: (config: ConfigService) => ({
        storageRoot: config.getOrThrow<string>('FILES_DIR'),
        maxFileSize: 10 * 1024 * 1024,
        allowedMimeTypes: ['text/plain', 'image/*', 'application/pdf'],
        durability: 'fsync',
      }),
    }),
  ],
  providers: [FileIndexer],
})
export class FilesModule {}
