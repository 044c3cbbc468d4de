import 'reflect-metadata';
import { describeRoutesOnDemand } from './openapi-loading.js';

// The module under test decides at evaluation whether to load Swagger: the choice comes first.
describeRoutesOnDemand();
const { ApiOperation, ApiProperty, ApiTags, describeRoutes } = await import('./openapi.js');
const swagger = await import('@nestjs/swagger');

/** The same class decorated twice: through the on-demand wrappers and with Swagger's own decorators. */
function twins() {
  @ApiTags('things')
  class Deferred {
    @ApiProperty({ description: 'a name', example: 'x' })
    name!: string;

    @ApiOperation({ summary: 'does it' })
    run(): void {}
  }
  @swagger.ApiTags('things')
  class Direct {
    @swagger.ApiProperty({ description: 'a name', example: 'x' })
    name!: string;

    @swagger.ApiOperation({ summary: 'does it' })
    run(): void {}
  }
  return { Deferred, Direct };
}

/** Every piece of Swagger's metadata on the class, its prototype, the property and the method. */
const described = (cls: new () => { run(): void }) => {
  const swaggerOwn = (target: object, key?: string) =>
    Object.fromEntries(
      (key === undefined ? Reflect.getOwnMetadataKeys(target) : Reflect.getOwnMetadataKeys(target, key))
        .filter((k): k is string => typeof k === 'string' && k.startsWith('swagger/'))
        .map((k) => [k, key === undefined ? Reflect.getOwnMetadata(k, target) : Reflect.getOwnMetadata(k, target, key)]),
    );
  return {
    cls: swaggerOwn(cls),
    prototype: swaggerOwn(cls.prototype),
    property: swaggerOwn(cls.prototype, 'name'),
    method: swaggerOwn(cls.prototype.run),
  };
};

describe('route descriptions loaded on demand', () => {
  it('describe nothing until asked, then exactly what Swagger’s own decorators describe', async () => {
    const { Deferred, Direct } = twins();
    expect(described(Deferred)).toEqual({ cls: {}, prototype: {}, property: {}, method: {} });

    await describeRoutes();
    expect(described(Deferred)).toEqual(described(Direct));
    expect(Object.values(described(Deferred).cls)).toContainEqual(['things']);
    expect(Object.values(described(Deferred).method)).toContainEqual(expect.objectContaining({ summary: 'does it' }));
    expect(Object.keys(described(Deferred).property).length + Object.keys(described(Deferred).prototype).length).toBeGreaterThan(0);
  });

  it('apply at once to routes defined after the descriptions were loaded', async () => {
    await describeRoutes();
    const { Deferred, Direct } = twins();
    expect(described(Deferred)).toEqual(described(Direct));
  });
});
