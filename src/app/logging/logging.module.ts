import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type DynamicModule,
  Global,
  Inject,
  Injectable,
  type InjectionToken,
  type LoggerService,
  type MiddlewareConsumer,
  Module,
  type ModuleMetadata,
  type NestModule,
  type OptionalFactoryDependency,
  type Provider,
  RequestMethod,
} from '@nestjs/common';
import { type DestinationStream, type Logger as Pino, type LoggerOptions, pino } from 'pino';

type Request = IncomingMessage & { id?: string | number; originalUrl?: string };

/** What the request lines carry besides method, path, status and duration; all optional. */
export interface RequestLineOptions {
  /** The request's id (also set as `req.id`); a random UUID when absent. */
  id?: (req: IncomingMessage, res: ServerResponse) => string;
  /** Requests that get no line (probes, scrapes). */
  ignore?: (req: IncomingMessage) => boolean;
  /** Fields added to the line, computed when the request ends. */
  fields?: (req: Request, res: ServerResponse) => Record<string, unknown>;
}

/** pino's options, the request lines', and where the lines go (stdout when absent). */
export interface LoggingParams {
  options: LoggerOptions;
  requests?: RequestLineOptions;
  destination?: DestinationStream;
}

/** The provider of the LoggingParams; tests override it to read the lines the real app writes. */
export const LOGGING_PARAMS = Symbol('stowage:logging-params');

/**
 * One pino logger per application, and a middleware that logs each request once when it ends:
 * `{ req: { id, method, url }, res: { statusCode }, responseTime, ...fields }`, "request completed"
 * (or "aborted", or "errored" with `err` from 500 on). It is our own rather than pino-http, which
 * makes a child logger per request and serializes the request into it up front, even when the level
 * drops the line: measured, that was about a quarter of the CPU a small upload costs (issue 18's
 * notes). Lines logged while handling a request name it by the `requestId` field they carry, as the
 * upload's background lines do; no AsyncLocalStorage scope, because on Node 20 that turns on promise
 * hooks for every promise of the process (13% of the CPU per upload, also measured).
 */
@Injectable()
export class RequestLogging {
  readonly logger: Pino;
  private readonly requests: RequestLineOptions;

  constructor(@Inject(LOGGING_PARAMS) { options, requests = {}, destination }: LoggingParams) {
    this.logger = destination ? pino(options, destination) : pino(options);
    this.requests = requests;
  }

  readonly middleware = (req: Request, res: ServerResponse, next: () => void): void => {
    req.id ??= this.requests.id?.(req, res) ?? randomUUID();
    // A level that drops the line costs the request nothing more than its id.
    if (this.logger.isLevelEnabled('info') && !this.requests.ignore?.(req)) {
      const started = Date.now();
      const done = (err?: Error) => {
        res.off('finish', done);
        res.off('close', done);
        res.off('error', done);
        this.logRequest(req, res, started, err);
      };
      res.on('finish', done);
      res.on('close', done);
      res.on('error', done);
    }
    next();
  };

  private logRequest(req: Request, res: ServerResponse, started: number, err: Error | undefined): void {
    if (!this.logger.isLevelEnabled('info')) return;
    const line = {
      req: { id: req.id, method: req.method, url: req.originalUrl ?? req.url },
      res: { statusCode: res.statusCode },
      responseTime: Date.now() - started,
      ...this.requests.fields?.(req, res),
    };
    const failed = err ?? (res.statusCode >= 500 ? new Error(`failed with status code ${res.statusCode}`) : undefined);
    if (failed) this.logger.info({ ...line, err: failed }, 'request errored');
    else this.logger.info(line, res.writableEnded ? 'request completed' : 'request aborted');
  }
}

type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/**
 * Nest's LoggerService on pino, for `app.useLogger()`: every `Logger` in the app (and the library's
 * services) writes JSON lines through it. Nest passes the logger's context last; it becomes the
 * `context` field. An object message is merged into the line (`msg`, `event`, `uploadId`, `err`...).
 */
@Injectable()
export class PinoLoggerService implements LoggerService {
  constructor(private readonly logging: RequestLogging) {}

  verbose(message: unknown, ...optionalParams: unknown[]): void {
    this.call('trace', message, optionalParams);
  }
  debug(message: unknown, ...optionalParams: unknown[]): void {
    this.call('debug', message, optionalParams);
  }
  log(message: unknown, ...optionalParams: unknown[]): void {
    this.call('info', message, optionalParams);
  }
  warn(message: unknown, ...optionalParams: unknown[]): void {
    this.call('warn', message, optionalParams);
  }
  error(message: unknown, ...optionalParams: unknown[]): void {
    this.call('error', message, optionalParams);
  }
  fatal(message: unknown, ...optionalParams: unknown[]): void {
    this.call('fatal', message, optionalParams);
  }

  private call(level: Level, message: unknown, optionalParams: unknown[]): void {
    const logger = this.logging.logger;
    // Nest calls every level; the fields of a line the level drops are not worth building.
    if (!logger.isLevelEnabled(level)) return;
    const fields: Record<string, unknown> = {};
    let params = optionalParams;
    if (params.length > 0) {
      fields.context = params[params.length - 1];
      params = params.slice(0, -1);
    }
    if (message instanceof Error) {
      logger[level]({ ...fields, err: message }, ...(params as []));
    } else if (typeof message === 'object' && message !== null) {
      logger[level]({ ...fields, ...message }, ...(params as []));
    } else if (
      level === 'error' &&
      typeof message === 'string' &&
      params.length === 1 &&
      typeof params[0] === 'string' &&
      /\n\s*at /.test(params[0])
    ) {
      // Nest's exception handlers call error(message, stack, context): keep the stack as an error.
      const err = new Error(message);
      err.stack = params[0];
      logger.error({ ...fields, err });
    } else {
      logger[level](fields, String(message), ...(params as []));
    }
  }
}

/**
 * Path pattern of every route, the root included (path-to-regexp v8 has no bare `*`). The missing
 * leading slash is deliberate: Nest leaves a path starting with `{/` alone.
 */
const EVERY_ROUTE = { path: '{/*splat}', method: RequestMethod.ALL };

export interface LoggingModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  inject?: Array<InjectionToken | OptionalFactoryDependency>;
  useFactory: (...args: never[]) => LoggingParams | Promise<LoggingParams>;
}

/** The standalone app's logging: pino JSON lines, one per request. */
@Global()
@Module({})
export class LoggingModule implements NestModule {
  constructor(private readonly logging: RequestLogging) {}

  static forRoot(params: LoggingParams): DynamicModule {
    return LoggingModule.with({ provide: LOGGING_PARAMS, useValue: params });
  }

  static forRootAsync({ imports, inject, useFactory }: LoggingModuleAsyncOptions): DynamicModule {
    return { ...LoggingModule.with({ provide: LOGGING_PARAMS, inject, useFactory }), imports };
  }

  private static with(params: Provider): DynamicModule {
    return {
      module: LoggingModule,
      providers: [params, RequestLogging, PinoLoggerService],
      exports: [LOGGING_PARAMS, RequestLogging, PinoLoggerService],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(this.logging.middleware).forRoutes(EVERY_ROUTE);
  }
}
