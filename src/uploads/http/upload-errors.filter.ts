import {
  type ArgumentsHost,
  Catch,
  ConflictException,
  type ExceptionFilter,
  HttpException,
  HttpStatus,
  NotFoundException,
  PayloadTooLargeException,
  RequestTimeoutException,
  ServiceUnavailableException,
  UnprocessableEntityException,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import type { Response } from 'express';
import { StorageError } from '../../domain/errors/storage.error.js';
import { UploadError } from '../../domain/errors/upload.error.js';
import { UploadsUnavailableError } from '../../domain/errors/uploads-unavailable.error.js';

const BY_CODE: Record<string, (message: string) => HttpException> = {
  FILE_TOO_LARGE: (m) => new PayloadTooLargeException(m),
  UNSUPPORTED_MEDIA_TYPE: (m) => new UnsupportedMediaTypeException(m),
  CHECKSUM_MISMATCH: (m) => new UnprocessableEntityException(m),
  UPLOAD_NOT_FOUND: (m) => new NotFoundException(m),
  UPLOAD_NOT_STORED: (m) => new ConflictException(m),
  UPLOAD_TOO_SLOW: (m) => new RequestTimeoutException(m),
  UPLOADS_UNAVAILABLE: (m) => new ServiceUnavailableException(m),
  IDEMPOTENCY_KEY_REUSED: (m) => new ConflictException(m),
  UPLOAD_NOT_RETRYABLE: (m) => new ConflictException(m),
  INSUFFICIENT_STORAGE: (m) => new HttpException({ statusCode: HttpStatus.INSUFFICIENT_STORAGE, message: m, error: 'Insufficient Storage' }, HttpStatus.INSUFFICIENT_STORAGE),
};

/** Maps domain errors to Nest's HTTP error shape, adding the stable `code`. */
@Catch(UploadError, StorageError)
export class UploadErrorsFilter extends BaseExceptionFilter implements ExceptionFilter {
  override catch(error: UploadError | StorageError, host: ArgumentsHost): void {
    const toHttp = BY_CODE[error.code];
    // Anything unmapped is a server fault: Nest logs it and answers a bare 500.
    if (!toHttp) return super.catch(error, host);
    const http = toHttp(error.message);
    const body = http.getResponse() as Record<string, unknown>;
    const res = host.switchToHttp().getResponse<Response>();
    if (error instanceof UploadsUnavailableError) {
      res.setHeader('Retry-After', String(error.retryAfterSeconds));
      if (error.closing) res.setHeader('Connection', 'close');
    }
    res.status(http.getStatus()).json({ ...body, code: error.code });
  }
}
