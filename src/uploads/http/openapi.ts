import type * as Swagger from '@nestjs/swagger';
import { isMissingPackage } from '../../common/optional-package.js';
import { statusOf, type UploadErrorCode } from '../../domain/errors/error-codes.js';
import { errorBody } from './error-response.js';

/**
 * `@nestjs/swagger` when the app has it: an optional peer. Without it the routes work the same and
 * are simply not described; with it, the decorators below are Swagger's own.
 */
const swagger: typeof Swagger | undefined = await import('@nestjs/swagger').catch((err: unknown) => {
  if (isMissingPackage(err, ['@nestjs/swagger'])) return undefined;
  throw err;
});

const none = (() => () => undefined) as never;
export const ApiTags: typeof Swagger.ApiTags = swagger?.ApiTags ?? none;
export const ApiOperation: typeof Swagger.ApiOperation = swagger?.ApiOperation ?? none;
export const ApiConsumes: typeof Swagger.ApiConsumes = swagger?.ApiConsumes ?? none;
export const ApiProduces: typeof Swagger.ApiProduces = swagger?.ApiProduces ?? none;
export const ApiBody: typeof Swagger.ApiBody = swagger?.ApiBody ?? none;
export const ApiHeader: typeof Swagger.ApiHeader = swagger?.ApiHeader ?? none;
export const ApiResponse: typeof Swagger.ApiResponse = swagger?.ApiResponse ?? none;
export const ApiExcludeController: typeof Swagger.ApiExcludeController = swagger?.ApiExcludeController ?? none;
export const ApiOkResponse: typeof Swagger.ApiOkResponse = swagger?.ApiOkResponse ?? none;
export const ApiAcceptedResponse: typeof Swagger.ApiAcceptedResponse = swagger?.ApiAcceptedResponse ?? none;
export const ApiNoContentResponse: typeof Swagger.ApiNoContentResponse = swagger?.ApiNoContentResponse ?? none;
export const ApiPartialContentResponse: typeof Swagger.ApiPartialContentResponse = swagger?.ApiPartialContentResponse ?? none;
export const ApiProperty: typeof Swagger.ApiProperty = swagger?.ApiProperty ?? none;
export const ApiPropertyOptional: typeof Swagger.ApiPropertyOptional = swagger?.ApiPropertyOptional ?? none;

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
