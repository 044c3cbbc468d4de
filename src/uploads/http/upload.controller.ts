import { pipeline } from 'node:stream/promises';
import {
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
  ApiBadRequestResponse,
  ApiBody,
  ApiConflictResponse,
  ApiConsumes,
  ApiHeader,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiPartialContentResponse,
  ApiPayloadTooLargeResponse,
  ApiProduces,
  ApiRequestedRangeNotSatisfiableResponse,
  ApiResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
  ApiUnsupportedMediaTypeResponse,
} from '@nestjs/swagger';
import contentDisposition from 'content-disposition';
import type { Request, Response } from 'express';
import rangeParser from 'range-parser';
import { map, type Observable } from 'rxjs';
import { InvalidUploadError } from '../../domain/errors/invalid-upload.error.js';
import { RangeNotSatisfiableError } from '../../domain/errors/range-not-satisfiable.error.js';
import { ErrorResponseDto } from './dto/error-response.dto.js';
import { ListUploadsQueryDto } from './dto/list-uploads-query.dto.js';
import { UploadAcceptedDto } from './dto/upload-accepted.dto.js';
import { UploadFormDto } from './dto/upload-form.dto.js';
import { UploadPageDto } from './dto/upload-page.dto.js';
import { UploadRecordDto } from './dto/upload-record.dto.js';
import { UploadStatusService } from '../upload-status.service.js';
import { UploadsService } from '../uploads.service.js';
import type { StagedMulterFile } from './staging-storage.engine.js';
import { UploadErrorsFilter } from './upload-errors.filter.js';
import { NOT_MULTIPART, UploadInterceptor } from './upload.interceptor.js';

const validId = new ParseUUIDPipe({ version: '7' });
const IDEMPOTENCY_KEY = /^[\x21-\x7e][\x20-\x7e]{0,254}$/;
const validInput = new ValidationPipe({ transform: true, whitelist: true, forbidNonWhitelisted: true });

type RequestWithId = Request & { id?: string | number };

/**
 * The HTTP edge of the uploads module. Mounted at the module's `path` (default `uploads`) by
 * `UploadsModule`, which subclasses it with the route prefix; hence no path here.
 */
@ApiTags('uploads')
@UseFilters(UploadErrorsFilter)
@ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Malformed request or id' })
export class UploadController {
  constructor(
    private readonly uploads: UploadsService,
    private readonly statuses: UploadStatusService,
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
  @ApiAcceptedResponse({ type: UploadAcceptedDto, description: 'Bytes received and staged; see Location for the status' })
  @ApiPayloadTooLargeResponse({ type: ErrorResponseDto })
  @ApiUnsupportedMediaTypeResponse({ type: ErrorResponseDto })
  @ApiUnprocessableEntityResponse({ type: ErrorResponseDto, description: 'The sha256 field does not match the bytes' })
  @ApiResponse({ status: HttpStatus.INSUFFICIENT_STORAGE, type: ErrorResponseDto, description: 'The disk filled during the upload' })
  @ApiResponse({
    status: HttpStatus.SERVICE_UNAVAILABLE,
    type: ErrorResponseDto,
    description: 'Shutting down or too much work held; see Retry-After',
  })
  @ApiResponse({ status: HttpStatus.REQUEST_TIMEOUT, type: ErrorResponseDto, description: 'The client sent too slowly' })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'Idempotency-Key reused with different bytes' })
  // Same name as the @Headers() parameter below, so the document has one optional header, not a second required one.
  @ApiHeader({
    name: 'idempotency-key',
    required: false,
    description: 'Repeat a POST safely: the same key and bytes return the first upload',
  })
  async upload(
    @UploadedFile() file: StagedMulterFile | undefined,
    @Body(validInput) form: UploadFormDto,
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
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'Not failed, or its staged bytes are gone' })
  async retry(@Param('id', validId) id: string): Promise<UploadRecordDto> {
    return UploadRecordDto.from(await this.uploads.retry(id));
  }

  @Get()
  @ApiOperation({ summary: 'List uploads, newest first' })
  @ApiOkResponse({ type: UploadPageDto })
  async list(@Query(validInput) query: ListUploadsQueryDto): Promise<UploadPageDto> {
    const page = await this.uploads.list(query);
    return { items: page.items.map((r) => UploadRecordDto.from(r)), nextCursor: page.nextCursor };
  }

  @Get(':id')
  @ApiOperation({ summary: 'Read an upload’s record and status' })
  @ApiOkResponse({ type: UploadRecordDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  async get(@Param('id', validId) id: string): Promise<UploadRecordDto> {
    return UploadRecordDto.from(await this.uploads.get(id));
  }

  @Sse(':id/events')
  @ApiOperation({
    summary: 'Follow an upload’s status live (Server-Sent Events)',
    description:
      'Sends the record at once as a `status` event, then again on every status change; the stream ends after `stored` or `failed`.',
  })
  @ApiProduces('text/event-stream')
  @ApiOkResponse({ description: '`event: status` messages whose data is the record (UploadRecord JSON)' })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
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
  @ApiRequestedRangeNotSatisfiableResponse({ description: 'Range outside the file' })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'Not stored yet' })
  async content(@Param('id', validId) id: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    const record = await this.uploads.getStored(id);
    const etag = `"${record.sha256}"`;
    res.setHeader('ETag', etag);
    res.setHeader('Accept-Ranges', 'bytes');
    if (req.headers['if-none-match'] === etag) {
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
    res.setHeader('Content-Disposition', contentDisposition(record.filename));
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
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  async delete(@Param('id', validId) id: string): Promise<void> {
    await this.uploads.delete(id);
  }
}

/** The collection's URL path as the client called it, so Location is right wherever the module is mounted. */
function collectionPath(req: Request): string {
  return (req.originalUrl.split('?')[0] ?? '').replace(/\/+$/, '');
}
