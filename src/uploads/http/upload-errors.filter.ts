import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import type { Request, Response } from 'express';
import { statusOf } from '../../domain/errors/error-codes.js';
import { RangeNotSatisfiableError } from '../../domain/errors/range-not-satisfiable.error.js';
import { StorageError } from '../../domain/errors/storage.error.js';
import { UploadError } from '../../domain/errors/upload.error.js';
import { UploadsUnavailableError } from '../../domain/errors/uploads-unavailable.error.js';
import { MethodNotAllowedError } from '../../domain/errors/method-not-allowed.error.js';
import { TusVersionUnsupportedError } from '../../domain/errors/tus-version-unsupported.error.js';
import { type ErrorBody, endExchangeAfterError, errorBody } from './error-response.js';
import { StructuredLogger } from '../../common/structured-logger.js';

interface Answer {
  body: ErrorBody;
  headers: Record<string, string>;
  closing: boolean;
}

/**
 * Every error of the uploads routes, answered in Nest's JSON shape. Stowage's errors carry a code,
 * and the code decides the status (one lookup in the domain's table); Nest's own HTTP errors (pipes,
 * guards) keep theirs. Either way the exchange ends the same way (`endExchangeAfterError`). Anything
 * else is a server fault that Nest logs and answers with a bare 500.
 */
@Catch()
export class UploadErrorsFilter extends BaseExceptionFilter implements ExceptionFilter {
  private readonly logger = new StructuredLogger('UploadsHttp');

  override catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const res = http.getResponse<Response>();
    const req = http.getRequest<Request & { id?: string }>();
    const answer = this.answer(error, req.id);
    if (!answer || res.headersSent) return super.catch(error, host);
    for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
    endExchangeAfterError(req, res, answer.closing);
    res.status(answer.body.statusCode).json(answer.body);
  }

  private answer(error: unknown, requestId: string | undefined): Answer | undefined {
    if (error instanceof UploadError) {
      return {
        body: errorBody(statusOf(error.code), error.message, error.code),
        headers: headersOf(error),
        closing: error instanceof UploadsUnavailableError && error.closing,
      };
    }
    if (error instanceof StorageError) {
      // The message names server paths and backend details: logged here, not sent.
      this.logger.error({
        msg: 'storage error while answering a request',
        event: 'upload.storage_error',
        requestId,
        errorCode: error.code,
        err: error,
      });
      const message = error.transient ? 'Storage is not available right now; try again later' : 'Storage error';
      return {
        body: errorBody(statusOf(error.code), message, error.code),
        headers: error.transient ? { 'Retry-After': '5' } : {},
        closing: false,
      };
    }
    if (error instanceof HttpException) {
      const response = error.getResponse();
      const body = typeof response === 'string' ? errorBody(error.getStatus(), response) : (response as ErrorBody);
      return { body: { ...body, statusCode: error.getStatus() }, headers: {}, closing: false };
    }
    return undefined;
  }
}

/** The headers an error adds to its answer: when to come back, what the valid range is. */
function headersOf(error: UploadError): Record<string, string> {
  if (error instanceof UploadsUnavailableError) return { 'Retry-After': String(error.retryAfterSeconds) };
  if (error instanceof RangeNotSatisfiableError) return { 'Content-Range': `bytes */${error.size}` };
  if (error instanceof TusVersionUnsupportedError) return { 'Tus-Version': error.supported.join(',') };
  if (error instanceof MethodNotAllowedError) return { Allow: error.allowed.join(', ') };
  return {};
}
