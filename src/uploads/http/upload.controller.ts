import { pipeline } from 'node:stream/promises';
import {
  type ArgumentMetadata,
  Body,
  Delete,
  Get,
  Headers,
  HttpCode,
  HttpStatus,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  Req,
  Res,
  Sse,
  type MessageEvent,
  UploadedFile,
  UseFilters,
  UseInterceptors,
  ValidationPipe,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBody,
  ApiConsumes,
  ApiErrors,
  ApiHeader,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiPartialContentResponse,
  ApiProduces,
  ApiResponse,
  ApiTags,
} from './openapi.js';
import contentDisposition from 'content-disposition';
import type { Request, Response } from 'express';
import rangeParser from 'range-parser';
import { map, type Observable } from 'rxjs';
import { InvalidUploadError } from '../../domain/errors/invalid-upload.error.js';
import { asciiFilename } from '../../domain/filename.js';
import { RangeNotSatisfiableError } from '../../domain/errors/range-not-satisfiable.error.js';
import { ErrorResponseDto } from './dto/error-response.dto.js';
import { ListUploadsQueryDto } from './dto/list-uploads-query.dto.js';
import { UploadAcceptedDto } from './dto/upload-accepted.dto.js';
import { UploadFormDto } from './dto/upload-form.dto.js';
import { UploadListDto } from './dto/upload-list.dto.js';
import { UploadRecordDto } from './dto/upload-record.dto.js';
import { UploadStatusService } from '../upload-status.service.js';
import { UploadsService } from '../uploads.service.js';
import { ResumableUploadsService } from '../resumable-uploads.service.js';
import type { StagedMulterFile } from './staging-storage.engine.js';
import { errorBody } from './error-response.js';
import { UploadErrorsFilter } from './upload-errors.filter.js';
import { NOT_MULTIPART, UploadInterceptor } from './upload.interceptor.js';

const validId = new ParseUUIDPipe({ version: '7' });

/** What a 202 carries: the new record, `received`, and a note that storage goes on in the background. */
const ACCEPTED_EXAMPLE = {
  id: '01939a4e-7f1c-7b3a-9c1d-2f4e5a6b7c8d',
  status: 'received',
  filename: 'report.pdf',
  mimeType: 'application/pdf',
  size: 52817,
  sha256: '5f2b1c0e7d7a8c3e9b1f4a6d2c8e0b7a9d3f5e1c2b4a6d8f0e2c4b6a8d0f2e4c',
  receivedAt: '2026-12-05T12:00:00.000Z',
  updatedAt: '2026-12-05T12:00:00.000Z',
  attempts: 0,
  message: 'File upload started',
};
const IDEMPOTENCY_KEY = /^[\x21-\x7e][\x20-\x7e]{0,254}$/;
/** Query strings and forms: typed, and a field the DTO does not name is an error. */
const VALIDATION = { transform: true, whitelist: true, forbidNonWhitelisted: true };
const validInput = new ValidationPipe(VALIDATION);

/**
 * The upload form's validation, which a form with no field besides the file (`curl -F file=@x`, the
 * usual case) skips: class-transformer and class-validator would find nothing to check, and cost a
 * small upload more than any other step of its validation.
 */
class UploadFormPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    return isEmptyForm(value) ? new UploadFormDto() : super.transform(value, metadata);
  }
}
const validForm = new UploadFormPipe(VALIDATION);

function isEmptyForm(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  for (const _field in value) return false;
  return true;
}

type RequestWithId = Request & { id?: string | number };

/**
 * The HTTP edge of the uploads module. Mounted at the module's `path` (default `uploads`) by
 * `UploadsModule`, which subclasses it with the route prefix; hence no path here.
 */
@ApiTags('uploads')
@ApiResponse({
  status: HttpStatus.BAD_REQUEST,
  type: ErrorResponseDto,
  description: 'A malformed id or query (Nest validation: no code)',
  example: errorBody(HttpStatus.BAD_REQUEST, 'Validation failed (uuid v 7 is expected)'),
})
@UseFilters(UploadErrorsFilter)
export class UploadController {
  constructor(
    private readonly uploads: UploadsService,
    private readonly statuses: UploadStatusService,
    private readonly resumable: ResumableUploadsService,
  ) {}

  @Post()
  @HttpCode(HttpStatus.ACCEPTED)
  @UseInterceptors(UploadInterceptor)
  @ApiOperation({
    summary: 'Upload one file',
    description: 'Streams the file to durable staging and answers 202 at once; storage continues in the background.',
  })
  @ApiConsumes('multipart/form-data')
  @ApiBody({ type: UploadFormDto })
  @ApiAcceptedResponse({
    type: UploadAcceptedDto,
    description: 'Bytes received and staged; see Location for the status',
    example: ACCEPTED_EXAMPLE,
  })
  @ApiErrors(ErrorResponseDto, {
    INVALID_UPLOAD: 'Not multipart/form-data, no file in the field "file", more than one file, or a malformed body or Idempotency-Key',
    UPLOAD_TOO_SLOW: 'The client sent slower than the minimum rate; the connection is closed',
    IDEMPOTENCY_KEY_REUSED: 'The Idempotency-Key was used before with different bytes',
    FILE_TOO_LARGE: 'The file is over the size limit: answered as soon as the limit is passed',
    UNSUPPORTED_MEDIA_TYPE: 'The type (judged by the leading bytes and the declared type) is not allowed, or the body is compressed',
    CHECKSUM_MISMATCH: 'The sha256 field does not match the bytes',
    UPLOADS_UNAVAILABLE: 'Shutting down, or too much work held (backlog, staging, free disk); see Retry-After',
    INSUFFICIENT_STORAGE: 'The disk filled during the upload',
  })
  // Same name as the @Headers() parameter below, so the document has one optional header, not a second required one.
  @ApiHeader({
    name: 'idempotency-key',
    required: false,
    description: 'Repeat a POST safely: the same key and bytes return the first upload',
  })
  async upload(
    @UploadedFile() file: StagedMulterFile | undefined,
    @Body(validForm) form: UploadFormDto,
    @Req() req: RequestWithId,
    @Res({ passthrough: true }) res: Response,
    @Headers('idempotency-key') idempotencyKey?: string,
  ): Promise<UploadAcceptedDto> {
    if (!file) throw new InvalidUploadError(NOT_MULTIPART);
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw new InvalidUploadError('Idempotency-Key must be 1 to 255 printable ASCII characters');
    }
    const record = await this.uploads.accept(file.staged, {
      filename: file.originalname,
      mimeType: file.mimetype,
      sha256: form.sha256,
      idempotencyKey,
      requestId: req.id === undefined ? undefined : String(req.id),
    });
    if (record.id !== file.staged.id) res.setHeader('Idempotent-Replayed', 'true');
    res.setHeader('Location', `${collectionPath(req)}/${record.id}`);
    return UploadAcceptedDto.fromRecord(record);
  }

  @Post(':id/retry')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({ summary: 'Store a failed upload again', description: 'Only for a failed upload whose staged bytes still exist.' })
  @ApiAcceptedResponse({ type: UploadRecordDto })
  @ApiErrors(ErrorResponseDto, {
    UPLOAD_NOT_FOUND: 'No upload has this id',
    UPLOAD_NOT_RETRYABLE: 'The upload is not failed, or its staged bytes are gone',
  })
  async retry(@Param('id', validId) id: string): Promise<UploadRecordDto> {
    return UploadRecordDto.from(await this.uploads.retry(id));
  }

  @Get()
  @ApiOperation({ summary: 'List uploads, newest first' })
  @ApiOkResponse({ type: UploadListDto })
  async list(@Query(validInput) query: ListUploadsQueryDto): Promise<UploadListDto> {
    const page = await this.uploads.list(query);
    return { items: page.items.map((r) => UploadRecordDto.from(r)), nextCursor: page.nextCursor };
  }

  @Get(':id')
  @ApiOperation({ summary: 'Read an upload’s record and status' })
  @ApiOkResponse({ type: UploadRecordDto })
  @ApiErrors(ErrorResponseDto, { UPLOAD_NOT_FOUND: 'No upload has this id' })
  async get(@Param('id', validId) id: string): Promise<UploadRecordDto> {
    // An unfinished resumable upload shows the offset it stands at now.
    return UploadRecordDto.from(await this.resumable.current(await this.uploads.get(id)));
  }

  @Sse(':id/events')
  @ApiOperation({
    summary: 'Follow an upload’s status live (Server-Sent Events)',
    description:
      'Sends the record at once as a `status` event, then again on every status change; the stream ends after `stored` or `failed`.',
  })
  @ApiProduces('text/event-stream')
  @ApiOkResponse({ description: '`event: status` messages whose data is the record (UploadRecord JSON)' })
  @ApiErrors(ErrorResponseDto, { UPLOAD_NOT_FOUND: 'No upload has this id' })
  async events(@Param('id', validId) id: string): Promise<Observable<MessageEvent>> {
    await this.uploads.get(id); // a 404 must be answered before the stream starts
    return this.statuses.watch(id).pipe(map((record) => ({ type: 'status', data: UploadRecordDto.from(record) })));
  }

  @Get(':id/content')
  @ApiOperation({
    summary: 'Download the stored bytes',
    description:
      'Supports a single byte range and If-None-Match. With S3_DOWNLOAD=redirect: 302 to a short-lived presigned URL of the object.',
  })
  @ApiProduces('application/octet-stream')
  @ApiOkResponse({ description: 'The bytes', schema: { type: 'string', format: 'binary' } })
  @ApiPartialContentResponse({ description: 'The requested range' })
  @ApiResponse({ status: HttpStatus.FOUND, description: 'Downloads are redirected to object storage: Location is a presigned URL' })
  @ApiResponse({ status: HttpStatus.NOT_MODIFIED, description: 'If-None-Match holds the ETag (the SHA-256), compared weakly' })
  @ApiErrors(ErrorResponseDto, {
    UPLOAD_NOT_FOUND: 'No upload has this id',
    UPLOAD_NOT_STORED: 'The upload is not stored yet',
    RANGE_NOT_SATISFIABLE: 'The range is outside the file; Content-Range gives its size',
  })
  async content(@Param('id', validId) id: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    const record = await this.uploads.getStored(id);
    const etag = `"${record.sha256}"`;
    res.setHeader('ETag', etag);
    res.setHeader('Accept-Ranges', 'bytes');
    if (noneMatch(req.headers['if-none-match'], etag)) {
      res.status(HttpStatus.NOT_MODIFIED).end();
      return;
    }
    const link = await this.uploads.downloadLink(record, contentDisposition(record.filename));
    if (link) {
      // The link expires: no cache may keep the redirect longer.
      res.setHeader('Cache-Control', 'no-store');
      res.redirect(HttpStatus.FOUND, link);
      return;
    }
    const ranges = req.headers.range ? rangeParser(record.size, req.headers.range, { combine: true }) : undefined;
    if (ranges === -1) throw new RangeNotSatisfiableError(record.size);
    // One range is served as 206; several, or a malformed header, get the whole file (RFC 9110 allows it).
    const range = Array.isArray(ranges) && ranges.type === 'bytes' && ranges.length === 1 ? ranges[0] : undefined;
    const { stream } = await this.uploads.openContent(record, range);
    res.setHeader('Content-Type', record.mimeType);
    // Every non-ASCII name also gets an ASCII `filename`, so `filename*` is always sent for it.
    res.setHeader('Content-Disposition', contentDisposition(record.filename, { fallback: asciiFilename(record.filename) }));
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (record.storedAt) res.setHeader('Last-Modified', new Date(record.storedAt).toUTCString());
    if (range) {
      res.status(HttpStatus.PARTIAL_CONTENT);
      res.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${record.size}`);
      res.setHeader('Content-Length', String(range.end - range.start + 1));
    } else {
      res.setHeader('Content-Length', String(record.size));
    }
    await pipeline(stream, res).catch(() => undefined); // a client that goes away mid-download is not an error
  }

  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Delete an upload: its bytes and its record' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiErrors(ErrorResponseDto, { UPLOAD_NOT_FOUND: 'No upload has this id' })
  async delete(@Param('id', validId) id: string): Promise<void> {
    await this.uploads.delete(id);
  }
}

/** The collection's URL path as the client called it, so Location is right wherever the module is mounted. */
function collectionPath(req: Request): string {
  return (req.originalUrl.split('?')[0] ?? '').replace(/\/+$/, '');
}

/**
 * RFC 9110's If-None-Match: `*`, or a list of entity tags compared weakly (`W/"x"` matches `"x"`).
 */
function noneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}
