import { HttpException, Inject, Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { Request, Response } from 'express';
import multer from 'multer';
import { catchError, from, switchMap, type Observable } from 'rxjs';
import { StagingArea } from '../../storage/staging-area.js';
import { InvalidUploadError } from '../../domain/errors/invalid-upload.error.js';
import { UploadError } from '../../domain/errors/upload.error.js';
import { watchTransferRate } from '../../domain/slow-client.js';
import { UploadAdmission } from '../lifecycle/upload-admission.service.js';
import { RESOLVED_UPLOADS_OPTIONS } from '../module/uploads.constants.js';
import type { ResolvedUploadsOptions } from '../module/uploads.options.js';
import { UploadsService } from '../uploads.service.js';
import type { StagedFile } from '../../storage/staging-area.js';
import { StagingStorageEngine, type StagedMulterFile } from './staging-storage.engine.js';

export const NOT_MULTIPART = 'Expected a multipart/form-data body with one file in the field "file"';

const MULTER_MESSAGES: Record<string, string> = {
  LIMIT_PART_COUNT: 'Too many parts',
  LIMIT_FILE_SIZE: 'File too large',
  LIMIT_FILE_COUNT: 'Exactly one file is accepted, in the field "file"',
  LIMIT_FIELD_KEY: 'Field name too long',
  LIMIT_FIELD_VALUE: 'Field value too long',
  LIMIT_FIELD_COUNT: 'Too many fields',
  LIMIT_UNEXPECTED_FILE: 'Unexpected file field: send exactly one file, in the field "file"',
  MISSING_FIELD_NAME: 'Field name missing',
  LIMIT_FIELD_NESTING: 'Field name nesting too deep',
  LIMIT_FIELD_ARRAY_INDEX: 'Field name array index too large',
  INVALID_FIELD_NAME: 'Invalid field name',
};

/**
 * Parses `multipart/form-data` with multer into the staging area. Differs from Nest's
 * `FileInterceptor` in two ways that matter here: a limit or type rejection is answered as soon as it
 * is detected (the rest of the body is not awaited), and staged bytes are removed when the request
 * fails after parsing (pipes, guards of the handler, errors).
 */
@Injectable()
export class UploadInterceptor implements NestInterceptor {
  /** The staging of each request's file part, and who wants to hear of it. */
  private readonly receipts = new WeakMap<Request, Promise<StagedFile>>();
  private readonly watchers = new WeakMap<Request, (receiving: Promise<StagedFile>) => void>();
  private readonly parse: (req: Request, res: Response, next: (err?: unknown) => void) => void;
  private readonly slowClient: ResolvedUploadsOptions['slowClient'];

  constructor(
    staging: StagingArea,
    @Inject(RESOLVED_UPLOADS_OPTIONS) options: ResolvedUploadsOptions,
    private readonly uploads: UploadsService,
    private readonly admission: UploadAdmission,
  ) {
    this.slowClient = options.slowClient;
    const storage = new StagingStorageEngine(staging, options, (req, receiving) => {
      this.receipts.set(req, receiving);
      this.watchers.get(req)?.(receiving);
    });
    this.parse = multer({
      storage,
      defParamCharset: 'utf8',
      limits: { files: 1, ...options.limits },
    }).single('file') as typeof this.parse;
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    return from(this.receive(req, res)).pipe(
      switchMap(() => next.handle()),
      catchError(async (err: unknown) => {
        const staged = (req.file as StagedMulterFile | undefined)?.staged;
        if (staged) await this.uploads.discardUnaccepted(staged.id);
        throw err;
      }),
    );
  }

  private async receive(req: Request, res: Response): Promise<void> {
    const encoding = req.headers['content-encoding'];
    if (encoding && encoding.toLowerCase() !== 'identity') {
      throw new UploadError(
        'UNSUPPORTED_MEDIA_TYPE',
        `Content-Encoding ${encoding} is not supported: send the multipart body uncompressed`,
      );
    }
    // Before anything reads the body: a file sent raw or as a form would otherwise reach the form's
    // validation, whose messages quote the body's bytes.
    if (!req.is('multipart/form-data')) throw new InvalidUploadError(NOT_MULTIPART);
    const release = await this.admission.admit();
    // In flight until the answer is out, so a graceful shutdown waits for it.
    res.once('close', release);
    return new Promise<void>((resolve, reject) => {
      // The whole body is held to the slow-client rate, not only the file part (which the staging
      // area watches too): a client trickling the multipart headers or the closing boundary would
      // otherwise hold its connection and upload slot for ever.
      const bytesBefore = req.socket.bytesRead;
      const stopWatching = watchTransferRate(
        () => req.socket.bytesRead - bytesBefore,
        this.slowClient,
        (error) => fail(error),
      );
      res.once('close', stopWatching);
      const fail = (err: unknown) => {
        stopWatching();
        reject(toHttpError(err));
      };
      const rejected = (err: unknown) => {
        if (err instanceof UploadError) fail(err);
      };
      // A file part that starts streaming: its rejection (413, 415, 408, 507) is answered at once.
      this.watchers.set(req, (receiving) => void receiving.catch(rejected)); // success is reported by multer's callback
      this.parse(req, res, (err) => {
        stopWatching();
        if (!err) return resolve();
        // multer may report the engine's failure as a bare abort before the engine has settled:
        // the engine's own reason is the one the client should get.
        const receiving = this.receipts.get(req);
        if (!receiving) return fail(err);
        receiving.then(
          () => fail(err),
          (reason: unknown) => fail(reason instanceof UploadError ? reason : err),
        );
      });
    });
  }
}

function toHttpError(err: unknown): Error {
  if (err instanceof UploadError || err instanceof HttpException) return err;
  if (err instanceof multer.MulterError) {
    const message = MULTER_MESSAGES[err.code] ?? err.message;
    return err.code === 'LIMIT_FILE_SIZE' ? new UploadError('FILE_TOO_LARGE', message) : new InvalidUploadError(message);
  }
  const message = (err as Error)?.message ?? '';
  // busboy's parse errors: a malformed or truncated body is the client's fault.
  if (/^(Multipart|Malformed|Unexpected end|Unsupported content type|Request (aborted|closed))/.test(message)) {
    return new InvalidUploadError(`Malformed multipart body: ${message}`);
  }
  return err instanceof Error ? err : new Error(String(err));
}
