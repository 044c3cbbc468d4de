import { applyDecorators, HttpStatus } from '@nestjs/common';
import { ErrorResponseDto } from './dto/error-response.dto.js';
import { ApiBody, ApiConsumes, ApiErrors, ApiHeader, ApiOperation, ApiParam, ApiResponse } from './openapi.js';
import { CHECKSUM_ALGORITHMS, OFFSET_STREAM, TUS_EXTENSIONS, TUS_VERSION } from './tus-protocol.js';

// The tus routes' descriptions, kept apart from the controller: the protocol speaks in headers, and
// listing them for every route would bury its code. Swagger UI can send each request by hand.

const header = (description: string, example?: string) => ({ description, schema: { type: 'string', ...(example && { example }) } });

const TUS_RESUMABLE = {
  name: 'Tus-Resumable',
  required: true,
  description: `The protocol version the client speaks; any other gets 412 with Tus-Version`,
  schema: { type: 'string', enum: [TUS_VERSION], default: TUS_VERSION },
};
const ANSWERED_VERSION = { 'Tus-Resumable': header('The version the server speaks', TUS_VERSION) };
const EXPIRES = { 'Upload-Expires': header('When an unfinished upload expires (RFC 7231 date)') };

const CAPABILITIES = {
  'Tus-Version': header('Protocol versions the server speaks', TUS_VERSION),
  'Tus-Extension': header('Extensions the server supports', TUS_EXTENSIONS.join(',')),
  'Tus-Max-Size': header('The largest upload in bytes (MAX_FILE_SIZE)'),
  'Tus-Checksum-Algorithm': header('Algorithms Upload-Checksum may name', CHECKSUM_ALGORITHMS.join(',')),
};

/** The upload's id in its URL: the same id as `GET /{path}/{id}` takes. */
const UPLOAD_ID = ApiParam({ name: 'id', description: 'The upload’s id (a UUIDv7), the last segment of Location', format: 'uuid' });

const CHUNK_BODY = {
  description: 'The bytes that follow the upload’s current offset',
  required: false,
  schema: { type: 'string', format: 'binary' },
};

const NOT_FOUND = 'No unfinished or finished upload has this id (a terminated or swept one included)';
const VERSION = 'Tus-Resumable is missing or names another version; Tus-Version lists the one spoken';
const ERRORS_OF_A_CHUNK = {
  INVALID_UPLOAD: 'A malformed Upload-Offset, Upload-Length or Upload-Checksum, or an unknown checksum algorithm',
  UPLOAD_NOT_PATCHABLE: 'The upload takes no more bytes: it is a final concatenation of other uploads, or complete',
  UPLOAD_NOT_FOUND: NOT_FOUND,
  UPLOAD_OFFSET_MISMATCH: 'Upload-Offset is not where the upload stands; nothing changed (ask HEAD and resume from there)',
  UPLOAD_EXPIRED: 'The upload expired before it was finished',
  TUS_VERSION_UNSUPPORTED: VERSION,
  FILE_TOO_LARGE:
    'The chunk goes past Upload-Length or the size limit (Tus-Max-Size); nothing of it is kept (an upload without a length is removed)',
  UNSUPPORTED_MEDIA_TYPE: `Content-Type is not ${OFFSET_STREAM}, or the leading bytes are of a type not allowed (upload removed)`,
  UPLOAD_LOCKED: 'Another request is writing this upload; retry once it ends',
  CHUNK_CHECKSUM_MISMATCH: 'Upload-Checksum does not match the chunk; the chunk was dropped and the offset is unchanged',
  UPLOADS_UNAVAILABLE: 'Shutting down, or too much work held (backlog, staging, free disk); see Retry-After',
  INSUFFICIENT_STORAGE: 'The disk filled during the chunk',
} as const;

/** OPTIONS on the creation URL, or on an upload's URL (`onUpload`): what the server supports. */
export function ApiTusOptions(onUpload = false): MethodDecorator {
  return applyDecorators(
    ApiOperation({ summary: 'tus: what the server supports', description: 'Answered without Tus-Resumable being needed.' }),
    ...(onUpload ? [UPLOAD_ID] : []),
    ApiResponse({
      status: HttpStatus.NO_CONTENT,
      description: 'The versions, extensions, size limit and checksum algorithms',
      headers: CAPABILITIES,
    }),
  );
}

export function ApiTusCreation(): MethodDecorator {
  return applyDecorators(
    ApiOperation({
      summary: 'tus: start a resumable upload',
      description:
        'Creation (tus 1.0 creation, creation-with-upload, creation-defer-length and concatenation). The answer’s ' +
        'Location, relative to this URL, is the upload’s URL; its id is the same as in GET /{path}/{id}. A body, when ' +
        'sent, is the first chunk. When the last byte is in, the upload goes on as a POST /{path} does.',
    }),
    ApiHeader(TUS_RESUMABLE),
    ApiHeader({ name: 'Upload-Length', required: false, description: 'The upload’s size in bytes (or send Upload-Defer-Length: 1)' }),
    ApiHeader({
      name: 'Upload-Defer-Length',
      required: false,
      description: '1: the length comes with a later PATCH',
      schema: { type: 'string', enum: ['1'] },
    }),
    ApiHeader({
      name: 'Upload-Metadata',
      required: false,
      description: 'Comma-separated "key base64value" pairs; filename and filetype become the record’s filename and MIME type',
    }),
    ApiHeader({
      name: 'Upload-Concat',
      required: false,
      description: '"partial", or "final;<url> <url> …" to join complete partial uploads',
    }),
    ApiHeader({
      name: 'Upload-Checksum',
      required: false,
      description: `Of the body, when one is sent: "<${CHECKSUM_ALGORITHMS.join('|')}> <base64 digest>"`,
    }),
    ApiConsumes(OFFSET_STREAM),
    ApiBody(CHUNK_BODY),
    ApiResponse({
      status: HttpStatus.CREATED,
      description: 'Created; Location is the upload’s URL',
      headers: {
        Location: header('The upload’s URL, relative to the creation URL', 'tus/01939a4e-7f1c-7b3a-9c1d-2f4e5a6b7c8d'),
        'Upload-Offset': header('Bytes received, when a body was sent'),
        ...EXPIRES,
        ...ANSWERED_VERSION,
      },
    }),
    ApiErrors(ErrorResponseDto, {
      INVALID_UPLOAD:
        'Not exactly one of Upload-Length and Upload-Defer-Length, malformed Upload-Metadata or Upload-Concat, or a part that is not complete',
      TUS_VERSION_UNSUPPORTED: VERSION,
      FILE_TOO_LARGE: 'Upload-Length is over Tus-Max-Size',
      UNSUPPORTED_MEDIA_TYPE: `The declared type is not allowed, or a body was sent without Content-Type: ${OFFSET_STREAM}`,
      CHUNK_CHECKSUM_MISMATCH: 'Upload-Checksum does not match the body; nothing was created',
      UPLOADS_UNAVAILABLE: ERRORS_OF_A_CHUNK.UPLOADS_UNAVAILABLE,
      INSUFFICIENT_STORAGE: ERRORS_OF_A_CHUNK.INSUFFICIENT_STORAGE,
    }),
  );
}

export function ApiTusHead(): MethodDecorator {
  return applyDecorators(
    ApiOperation({ summary: 'tus: where an upload stands', description: 'The offset to resume from (also when complete).' }),
    UPLOAD_ID,
    ApiHeader(TUS_RESUMABLE),
    ApiResponse({
      status: HttpStatus.OK,
      description: 'No body; the headers say where the upload stands',
      headers: {
        'Upload-Offset': header('Bytes received and, with DURABILITY=fsync, on stable storage'),
        'Upload-Length': header('The upload’s size, when known'),
        'Upload-Defer-Length': header('1 while the length is not known yet'),
        'Upload-Metadata': header('As given at creation'),
        'Upload-Concat': header('"partial" or "final;…", for concatenation'),
        'Cache-Control': header('Never cached', 'no-store'),
        ...EXPIRES,
        ...ANSWERED_VERSION,
      },
    }),
    ApiErrors(ErrorResponseDto, {
      UPLOAD_NOT_FOUND: NOT_FOUND,
      UPLOAD_EXPIRED: ERRORS_OF_A_CHUNK.UPLOAD_EXPIRED,
      TUS_VERSION_UNSUPPORTED: VERSION,
    }),
  );
}

export function ApiTusPatch(): MethodDecorator {
  return applyDecorators(
    ApiOperation({
      summary: 'tus: send the next chunk',
      description:
        'Appends the body at Upload-Offset. Answered 204 only when the bytes up to the new offset are on stable ' +
        'storage (DURABILITY=fsync). A dropped connection keeps what arrived. One writer per upload.',
    }),
    UPLOAD_ID,
    ApiHeader(TUS_RESUMABLE),
    ApiHeader({ name: 'Upload-Offset', required: true, description: 'Where the upload stands (from HEAD, or the previous answer)' }),
    ApiHeader({ name: 'Upload-Length', required: false, description: 'The size, for an upload created with Upload-Defer-Length: 1' }),
    ApiHeader({
      name: 'Upload-Checksum',
      required: false,
      description: `Of this chunk: "<${CHECKSUM_ALGORITHMS.join('|')}> <base64 digest>"`,
    }),
    ApiConsumes(OFFSET_STREAM),
    ApiBody({ ...CHUNK_BODY, required: true }),
    ApiResponse({
      status: HttpStatus.NO_CONTENT,
      description: 'The chunk is in; Upload-Offset is the new offset',
      headers: { 'Upload-Offset': header('The new offset'), ...EXPIRES, ...ANSWERED_VERSION },
    }),
    ApiErrors(ErrorResponseDto, ERRORS_OF_A_CHUNK),
  );
}

export function ApiTusTermination(): MethodDecorator {
  return applyDecorators(
    ApiOperation({ summary: 'tus: terminate an upload', description: 'Removes the upload, finished or not: its record and its bytes.' }),
    UPLOAD_ID,
    ApiHeader(TUS_RESUMABLE),
    ApiResponse({ status: HttpStatus.NO_CONTENT, description: 'Removed', headers: ANSWERED_VERSION }),
    ApiErrors(ErrorResponseDto, {
      UPLOAD_NOT_FOUND: NOT_FOUND,
      TUS_VERSION_UNSUPPORTED: VERSION,
      UPLOAD_LOCKED: 'A chunk is being written; retry once it ends',
    }),
  );
}

/** POST on an upload's URL: PATCH, HEAD or DELETE for clients and proxies that can only send POST. */
export function ApiTusMethodOverride(): MethodDecorator {
  return applyDecorators(
    ApiOperation({
      summary: 'tus: PATCH, HEAD or DELETE sent as POST',
      description: 'X-HTTP-Method-Override names the method meant; the request is then answered as that method is.',
    }),
    UPLOAD_ID,
    ApiHeader({ name: 'X-HTTP-Method-Override', required: true, schema: { type: 'string', enum: ['PATCH', 'HEAD', 'DELETE'] } }),
    ApiHeader(TUS_RESUMABLE),
    ApiResponse({ status: HttpStatus.OK, description: 'As HEAD', headers: ANSWERED_VERSION }),
    ApiResponse({ status: HttpStatus.NO_CONTENT, description: 'As PATCH or DELETE', headers: ANSWERED_VERSION }),
    ApiErrors(ErrorResponseDto, {
      ...ERRORS_OF_A_CHUNK,
      METHOD_NOT_ALLOWED: 'The override names a method an upload’s URL does not take',
    }),
  );
}
