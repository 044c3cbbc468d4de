import type * as SwaggerPackage from '@nestjs/swagger';
import { isMissingPackage } from '../../common/optional-package.js';
import { routesDescribedOnDemand } from './openapi-loading.js';
import { statusOf, type UploadErrorCode } from '../../domain/errors/error-codes.js';
import { errorBody } from './error-response.js';

type Swagger = typeof SwaggerPackage;

/**
 * `@nestjs/swagger` when the app has it: an optional peer. Without it the routes work the same and
 * are simply not described. Loaded as the routes are defined, unless `describeRoutesOnDemand()` was
 * called first: then the decorators below are kept as they are applied and replayed, in the same
 * order and on the same targets, by `describeRoutes()`.
 */
let swagger: Swagger | undefined = routesDescribedOnDemand() ? undefined : await loadSwagger();
let loading: Promise<Swagger | undefined> | undefined;
const deferred: Array<(s: Swagger) => void> = [];

async function loadSwagger(): Promise<Swagger | undefined> {
  return import('@nestjs/swagger').catch((err: unknown) => {
    if (isMissingPackage(err, ['@nestjs/swagger'])) return undefined;
    throw err;
  });
}

/** Whether `@nestjs/swagger` has been loaded into this process (by the descriptions or `describeRoutes`). */
export function swaggerLoaded(): boolean {
  return swagger !== undefined;
}

/**
 * Applies every route description kept so far (when loaded on demand) and resolves Swagger, or
 * undefined when it is not installed. Later calls share the first.
 */
export function describeRoutes(): Promise<Swagger | undefined> {
  loading ??= (async () => {
    swagger ??= await loadSwagger();
    if (swagger) for (const apply of deferred.splice(0)) apply(swagger);
    return swagger;
  })();
  return loading;
}

type AnyDecorator = (target: object, key?: string | symbol, descriptor?: PropertyDescriptor) => void;
/** Swagger's decorator factory `name`: applied at once when Swagger is loaded, else kept for `describeRoutes`. */
function described<K extends keyof Swagger>(name: K): Swagger[K] {
  const factory = (...args: unknown[]) => {
    const decorate = (s: Swagger) => (s[name] as (...a: unknown[]) => AnyDecorator)(...args);
    if (swagger) return decorate(swagger);
    if (!routesDescribedOnDemand()) return () => undefined; // not installed
    return ((target: object, key?: string | symbol, descriptor?: PropertyDescriptor) => {
      deferred.push((s) => decorate(s)(target, key, descriptor));
    }) as AnyDecorator;
  };
  return factory as unknown as Swagger[K];
}

export const ApiTags = described('ApiTags');
export const ApiOperation = described('ApiOperation');
export const ApiConsumes = described('ApiConsumes');
export const ApiProduces = described('ApiProduces');
export const ApiBody = described('ApiBody');
export const ApiHeader = described('ApiHeader');
export const ApiResponse = described('ApiResponse');
export const ApiExcludeController = described('ApiExcludeController');
export const ApiExcludeEndpoint = described('ApiExcludeEndpoint');
export const ApiParam = described('ApiParam');
export const ApiOkResponse = described('ApiOkResponse');
export const ApiAcceptedResponse = described('ApiAcceptedResponse');
export const ApiNoContentResponse = described('ApiNoContentResponse');
export const ApiPartialContentResponse = described('ApiPartialContentResponse');
export const ApiServiceUnavailableResponse = described('ApiServiceUnavailableResponse');
export const ApiProperty = described('ApiProperty');
export const ApiPropertyOptional = described('ApiPropertyOptional');

/** A message each code really answers with, for the examples of the document; every code has one. */
const EXAMPLE_MESSAGES: Record<UploadErrorCode, string> = {
  MALFORMED_REQUEST: 'Malformed HTTP request (HPE_INVALID_METHOD)',
  INVALID_UPLOAD: 'Expected a multipart/form-data body with one file in the field "file"',
  UPLOAD_NOT_FOUND: 'Upload 01939a4e-7f1c-7b3a-9c1d-2f4e5a6b7c8d not found',
  UPLOAD_TOO_SLOW: 'Upload slower than 512 bytes/s over 30000 ms; connection closed',
  REQUEST_TIMEOUT: 'Malformed HTTP request (ERR_HTTP_REQUEST_TIMEOUT)',
  UPLOAD_NOT_STORED: 'Upload 01939a4e-7f1c-7b3a-9c1d-2f4e5a6b7c8d is processing, its content is readable once it is stored',
  UPLOAD_NOT_RETRYABLE: 'Upload 01939a4e-7f1c-7b3a-9c1d-2f4e5a6b7c8d cannot be retried: it is stored, only failed uploads are retried',
  IDEMPOTENCY_KEY_REUSED: 'Idempotency-Key "order-42" was used for upload 01939a4e-7f1c-7b3a-9c1d-2f4e5a6b7c8d with different bytes',
  FILE_TOO_LARGE: 'File exceeds the limit of 1073741824 bytes',
  UNSUPPORTED_MEDIA_TYPE: 'Content is application/zip, which is not allowed (allowed: image/png, application/pdf)',
  RANGE_NOT_SATISFIABLE: 'Range not satisfiable for 16 bytes',
  CHECKSUM_MISMATCH: 'sha256 mismatch: the form said 9f86d081…, the received bytes hash to 2c26b46b…',
  REQUEST_HEADERS_TOO_LARGE: 'Malformed HTTP request (HPE_HEADER_OVERFLOW)',
  UPLOADS_UNAVAILABLE: 'Storage backlog is full (10000 uploads waiting)',
  INSUFFICIENT_STORAGE: 'Not enough disk space to hold the upload',
  UPLOAD_NOT_PATCHABLE: 'Upload 01939a4e-7f1c-7b3a-9c1d-2f4e5a6b7c8d takes no more bytes: it is a final concatenation',
  METHOD_NOT_ALLOWED: 'PUT is not allowed here (allowed: OPTIONS, HEAD, PATCH, DELETE)',
  UPLOAD_OFFSET_MISMATCH: 'Upload-Offset is 0, but the upload is at 8388608: ask for the offset (HEAD) and resume from there',
  UPLOAD_EXPIRED: 'Upload 01939a4e-7f1c-7b3a-9c1d-2f4e5a6b7c8d expired before it was finished; start a new upload',
  TUS_VERSION_UNSUPPORTED: 'Tus-Resumable "0.2.2" is not supported (supported: 1.0.0)',
  UPLOAD_LOCKED: 'Upload 01939a4e-7f1c-7b3a-9c1d-2f4e5a6b7c8d is being written by another request; retry once it ends',
  CHUNK_CHECKSUM_MISMATCH: 'Upload-Checksum (sha256) does not match the bytes received; the chunk was discarded',
};

/**
 * Documents the error answers of a route: one response per status, with one example per code that
 * really answers with it (from the domain's table) and what each code means there.
 */
export function ApiErrors(type: new () => object, errors: Partial<Record<UploadErrorCode, string>>): MethodDecorator {
  const byStatus = new Map<number, Array<[UploadErrorCode, string]>>();
  for (const [code, meaning] of Object.entries(errors) as Array<[UploadErrorCode, string]>) {
    const status = statusOf(code);
    byStatus.set(status, [...(byStatus.get(status) ?? []), [code, meaning]]);
  }
  const decorators = [...byStatus].map(([status, codes]) =>
    ApiResponse({
      status,
      type,
      description: codes.map(([, meaning]) => meaning).join('; '),
      examples: Object.fromEntries(
        codes.map(([code, meaning]) => [code, { summary: meaning, value: errorBody(status, EXAMPLE_MESSAGES[code], code) }]),
      ),
    }),
  );
  return (target, key, descriptor) => {
    for (const decorate of decorators) decorate(target, key, descriptor);
  };
}
