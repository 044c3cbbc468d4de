import { type CanActivate, type ExecutionContext, type INestApplication, Injectable, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { createTempStorageRoot, type TempStorageRoot } from '../src/testing/temp-storage-root.js';
import { UploadsModule } from '../src/uploads/module/uploads.module.js';

const header = (context: ExecutionContext, name: string) =>
  context.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>().headers[name];

/** The host's global guard: applies to every route of the app, the module's included. */
@Injectable()
class NotSuspendedGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    return header(context, 'x-suspended') !== 'yes';
  }
}

/** Given to the module as an instance, to show both forms of the `guards` extra work. */
class RoleGuard implements CanActivate {
  constructor(private readonly role: string) {}
  canActivate(context: ExecutionContext): boolean {
    return header(context, 'x-role') === this.role;
  }
}

/** A settings provider of the host, the kind `forRootAsync` is for. */
@Injectable()
class HostSettings {
  storageRoot = '';
}

@Module({ providers: [HostSettings], exports: [HostSettings] })
class SettingsModule {}

describe('UploadsModule guards (e2e)', () => {
  let root: TempStorageRoot;
  let app: INestApplication;

  beforeAll(async () => {
    root = await createTempStorageRoot('stowage-guards-');
    const moduleRef = await Test.createTestingModule({
      imports: [
        EventEmitterModule.forRoot(),
        UploadsModule.forRootAsync({
          path: '/api/files/',
          guards: [new RoleGuard('uploader')],
          imports: [SettingsModule],
          inject: [HostSettings],
          useFactory: (settings: HostSettings) => ({ storageRoot: settings.storageRoot, durability: 'none' }),
        }),
      ],
      providers: [{ provide: APP_GUARD, useClass: NotSuspendedGuard }],
    })
      .overrideProvider(HostSettings)
      .useValue({ storageRoot: root.path })
      .compile();
    app = await moduleRef.createNestApplication({ logger: false }).init();
  });
  afterAll(async () => {
    await app?.close();
    await root.cleanup();
  });

  it('runs the host’s global guard and the guards given to forRootAsync on every route', async () => {
    const server = app.getHttpServer();
    await request(server).get('/api/files').set('x-role', 'uploader').expect(200);
    await request(server).get('/api/files').set('x-role', 'uploader').set('x-suspended', 'yes').expect(403);
    await request(server).get('/api/files').set('x-role', 'viewer').expect(403);
    await request(server).post('/api/files').attach('file', Buffer.from('x'), 'x.txt').expect(403);
    const { body } = await request(server)
      .post('/api/files')
      .set('x-role', 'uploader')
      .attach('file', Buffer.from('x'), 'x.txt')
      .expect(202);
    await request(server).get(`/api/files/${body.id}`).set('x-role', 'viewer').expect(403);
    await request(server).get(`/api/files/${body.id}`).set('x-role', 'uploader').expect(200);
  });
});
