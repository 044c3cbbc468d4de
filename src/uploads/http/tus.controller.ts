import { All, Delete, Head, HttpStatus, Options, Patch, Post, Req, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiTags } from './openapi.js';
import { ApiTusCreation, ApiTusHead, ApiTusMethodOverride, ApiTusOptions, ApiTusPatch, ApiTusTermination } from './tus.openapi.js';
import type { Request, Response } from 'express';
import { InvalidUploadError } from '../../domain/errors/invalid-upload.error.js';
import { MethodNotAllowedError } from '../../domain/errors/method-not-allowed.error.js';
import { TusVersionUnsupportedError } from '../../domain/errors/tus-version-unsupported.error.js';
import { UploadError } from '../../domain/errors/upload.error.js';
import { UploadNotFoundError } from '../../domain/errors/upload-not-found.error.js';
import type { UploadRecord } from '../../domain/upload-record.js';
import { type ChunkChecksum, ResumableUploadsService } from '../resumable-uploads.service.js';
import { UploadErrorsFilter } from './upload-errors.filter.js';
import { CHECKSUM_ALGORITHMS, OFFSET_STREAM, TUS_EXTENSIONS, TUS_VERSION } from './tus-protocol.js';

const ITEM_METHODS = ['HEAD', 'PATCH', 'DELETE', 'OPTIONS'];
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
const WHOLE_NUMBER = /^\d{1,16}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

type RequestWithId = Request & { id?: string | number };

/**
 * The tus 1.0.0 resumable-upload protocol (https://tus.io/protocols/resumable-upload) at
 * `{path}/tus`: creation (with upload, deferred length), core HEAD/PATCH, termination, checksum,
 * expiration and concatenation. Each upload's URL is `{path}/tus/{id}` with the same id as
 * `{path}/{id}`. Errors are answered by the module's one filter, with `Tus-Resumable` set first.
 */
@ApiTags('tus')
@UseFilters(UploadErrorsFilter)
export class TusController {
  constructor(private readonly resumable: ResumableUploadsService) {}

  @Options()
  @ApiTusOptions()
  options(@Res() res: Response): void {
    this.answerOptions(res);
  }

  @Post()
  @ApiTusCreation()
  async create(@Req() req: RequestWithId, @Res() res: Response): Promise<void> {
    tusRequest(req, res);
    const concat = header(req, 'upload-concat');
    const metadata = parseMetadata(header(req, 'upload-metadata'));
    const requestId = req.id === undefined ? undefined : String(req.id);
    const described = {
      filename: metadata.get('filename'),
      mimeType: metadata.get('filetype'),
      metadata: header(req, 'upload-metadata'),
      requestId,
    };
    if (concat?.startsWith('final;')) {
      if (hasBody(req)) throw new InvalidUploadError('A final upload is made of its parts; it takes no body');
      const record = await this.resumable.concatenate(partIds(concat), { ...described, concat });
      res.setHeader('Location', locationOf(req, record.id));
      res.status(HttpStatus.CREATED).end();
      return;
    }
    if (concat !== undefined && concat !== 'partial')
      throw new InvalidUploadError('Upload-Concat must be "partial" or "final;<url> <url> …"');
    const length = header(req, 'upload-length');
    const deferred = header(req, 'upload-defer-length');
    if (deferred !== undefined && deferred !== '1') throw new InvalidUploadError('Upload-Defer-Length must be 1');
    if ((length === undefined) === (deferred === undefined))
      throw new InvalidUploadError('Send exactly one of Upload-Length and Upload-Defer-Length: 1');
    const withData = hasBody(req);
    if (withData && !isOffsetStream(req))
      throw new UploadError('UNSUPPORTED_MEDIA_TYPE', `A body sent with the creation must be ${OFFSET_STREAM}`);
    const checksum = withData ? parseChecksum(header(req, 'upload-checksum')) : undefined;
    let record = await this.resumable.create({
      ...described,
      length: length === undefined ? undefined : wholeNumber(length, 'Upload-Length'),
      partial: concat === 'partial',
    });
    if (withData) {
      try {
        record = await this.resumable.append(record.id, req, { offset: 0, contentLength: contentLength(req), checksum, requestId });
      } catch (err) {
        // The client has no URL for it yet: nothing to resume, so nothing is kept.
        await this.resumable.terminate(record.id).catch(() => undefined);
        throw err;
      }
      res.setHeader('Upload-Offset', String(offsetOf(record)));
    }
    res.setHeader('Location', locationOf(req, record.id));
    if (record.status === 'receiving' && record.expiresAt) res.setHeader('Upload-Expires', new Date(record.expiresAt).toUTCString());
    res.status(HttpStatus.CREATED).end();
  }

  // Every method on an upload's URL is answered by `upload`, so `X-HTTP-Method-Override` can pick
  // any of them; the methods tus uses have routes of their own only so the document describes them.
  @Head(':id')
  @ApiTusHead()
  head(@Req() req: RequestWithId, @Res() res: Response): Promise<void> {
    return this.upload(req, res);
  }

  @Patch(':id')
  @ApiTusPatch()
  patch(@Req() req: RequestWithId, @Res() res: Response): Promise<void> {
    return this.upload(req, res);
  }

  @Delete(':id')
  @ApiTusTermination()
  terminate(@Req() req: RequestWithId, @Res() res: Response): Promise<void> {
    return this.upload(req, res);
  }

  @Options(':id')
  @ApiTusOptions(true)
  uploadOptions(@Req() req: RequestWithId, @Res() res: Response): Promise<void> {
    return this.upload(req, res);
  }

  @Post(':id')
  @ApiTusMethodOverride()
  override(@Req() req: RequestWithId, @Res() res: Response): Promise<void> {
    return this.upload(req, res);
  }

  /** Answers every method on an upload's URL: the routes above call it, the others arrive here (405). */
  @All(':id')
  @ApiExcludeEndpoint()
  async upload(@Req() req: RequestWithId, @Res() res: Response): Promise<void> {
    const method = (header(req, 'x-http-method-override') ?? req.method).toUpperCase();
    if (method === 'OPTIONS') return this.answerOptions(res);
    tusRequest(req, res);
    if (!ITEM_METHODS.includes(method)) {
      res.setHeader('Allow', ITEM_METHODS.join(', '));
      throw new MethodNotAllowedError(method, ITEM_METHODS);
    }
    const id = String(req.params.id);
    if (!UUID_V7.test(id)) throw new UploadNotFoundError(id);
    if (method === 'HEAD') return this.answerHead(id, res);
    if (method === 'DELETE') {
      await this.resumable.terminate(id);
      res.status(HttpStatus.NO_CONTENT).end();
      return;
    }
    return this.appendChunk(id, req, res);
  }

  private async answerHead(id: string, res: Response): Promise<void> {
    const record = await this.resumable.get(id);
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Upload-Offset', String(offsetOf(record)));
    const length = record.status === 'receiving' ? record.length : record.size;
    if (length === undefined) res.setHeader('Upload-Defer-Length', '1');
    else res.setHeader('Upload-Length', String(length));
    if (record.resumable?.metadata) res.setHeader('Upload-Metadata', record.resumable.metadata);
    if (record.resumable?.concat) res.setHeader('Upload-Concat', record.resumable.concat);
    if (record.status === 'receiving' && record.expiresAt) res.setHeader('Upload-Expires', new Date(record.expiresAt).toUTCString());
    res.status(HttpStatus.OK).end();
  }

  private async appendChunk(id: string, req: RequestWithId, res: Response): Promise<void> {
    if (!isOffsetStream(req)) throw new UploadError('UNSUPPORTED_MEDIA_TYPE', `PATCH needs Content-Type: ${OFFSET_STREAM}`);
    const offset = header(req, 'upload-offset');
    if (offset === undefined) throw new InvalidUploadError('PATCH needs Upload-Offset');
    const length = header(req, 'upload-length');
    const record = await this.resumable.append(id, req, {
      offset: wholeNumber(offset, 'Upload-Offset'),
      length: length === undefined ? undefined : wholeNumber(length, 'Upload-Length'),
      contentLength: contentLength(req),
      checksum: parseChecksum(header(req, 'upload-checksum')),
      requestId: req.id === undefined ? undefined : String(req.id),
    });
    res.setHeader('Upload-Offset', String(offsetOf(record)));
    if (record.status === 'receiving' && record.expiresAt) res.setHeader('Upload-Expires', new Date(record.expiresAt).toUTCString());
    res.status(HttpStatus.NO_CONTENT).end();
  }

  private answerOptions(res: Response): void {
    res.setHeader('Tus-Resumable', TUS_VERSION);
    res.setHeader('Tus-Version', TUS_VERSION);
    res.setHeader('Tus-Extension', TUS_EXTENSIONS.join(','));
    res.setHeader('Tus-Max-Size', String(this.resumable.maxSize));
    res.setHeader('Tus-Checksum-Algorithm', CHECKSUM_ALGORITHMS.join(','));
    res.status(HttpStatus.NO_CONTENT).end();
  }
}

/** Every answer but OPTIONS says which version it speaks; a client of another version is refused (412). */
function tusRequest(req: Request, res: Response): void {
  res.setHeader('Tus-Resumable', TUS_VERSION);
  const version = header(req, 'tus-resumable');
  if (version !== TUS_VERSION) throw new TusVersionUnsupportedError(version ?? '', [TUS_VERSION]);
}

function header(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function isOffsetStream(req: Request): boolean {
  return header(req, 'content-type')?.split(';')[0].trim().toLowerCase() === OFFSET_STREAM;
}

function contentLength(req: Request): number | undefined {
  const value = header(req, 'content-length');
  return value !== undefined && WHOLE_NUMBER.test(value) ? Number(value) : undefined;
}

function hasBody(req: Request): boolean {
  return (contentLength(req) ?? 0) > 0 || header(req, 'transfer-encoding') !== undefined;
}

function wholeNumber(value: string, name: string): number {
  const trimmed = value.trim();
  if (!WHOLE_NUMBER.test(trimmed) || !Number.isSafeInteger(Number(trimmed))) {
    throw new InvalidUploadError(`${name} must be a whole number of bytes`);
  }
  return Number(trimmed);
}

function offsetOf(record: UploadRecord): number {
  return record.status === 'receiving' ? (record.offset ?? 0) : record.size;
}

/** `Upload-Metadata`: comma-separated `key base64value` pairs, keys unique, values optional. */
function parseMetadata(value: string | undefined): Map<string, string> {
  const pairs = new Map<string, string>();
  if (value === undefined || value.trim() === '') return pairs;
  for (const item of value.split(',')) {
    const [key, encoded = '', ...rest] = item.trim().split(' ');
    if (!key || rest.length > 0 || !BASE64.test(encoded) || pairs.has(key)) {
      throw new InvalidUploadError('Upload-Metadata must be comma-separated "key base64value" pairs with unique keys');
    }
    pairs.set(key, Buffer.from(encoded, 'base64').toString('utf8'));
  }
  return pairs;
}

/** `Upload-Checksum: <algorithm> <base64 digest>`. */
function parseChecksum(value: string | undefined): ChunkChecksum | undefined {
  if (value === undefined) return undefined;
  const [algorithm, encoded, ...rest] = value.trim().split(' ');
  if (!(CHECKSUM_ALGORITHMS as readonly string[]).includes(algorithm)) {
    throw new InvalidUploadError(
      `Upload-Checksum algorithm ${JSON.stringify(algorithm)} is not supported (supported: ${CHECKSUM_ALGORITHMS.join(', ')})`,
    );
  }
  if (!encoded || rest.length > 0 || !BASE64.test(encoded))
    throw new InvalidUploadError('Upload-Checksum must be "<algorithm> <base64 digest>"');
  return { algorithm: algorithm as ChunkChecksum['algorithm'], digest: Buffer.from(encoded, 'base64') };
}

/** The ids of `final;<url> <url> …`: each URL's last path segment, absolute or relative alike. */
function partIds(concat: string): string[] {
  const urls = concat.slice('final;'.length).trim().split(/\s+/).filter(Boolean);
  if (urls.length === 0) throw new InvalidUploadError('Upload-Concat final needs the URLs of its partial uploads');
  return urls.map((url) => {
    const id = url.split('?')[0].replace(/\/+$/, '').split('/').pop() ?? '';
    if (!UUID_V7.test(id))
      throw new InvalidUploadError(`Upload-Concat names ${JSON.stringify(url)}, which is not an upload of this server`);
    return id;
  });
}

/**
 * The new upload's URL relative to the creation URL the client called (`tus/<id>`), so it is right
 * wherever the module is mounted and whatever prefix a proxy in front of it strips or adds.
 */
function locationOf(req: Request, id: string): string {
  const path = req.originalUrl.split('?')[0] ?? '';
  return path.endsWith('/') ? id : `${path.slice(path.lastIndexOf('/') + 1)}/${id}`;
}
