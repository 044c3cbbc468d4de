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
import type { DestinationStream, Logger as Pino } from 'pino';
import { type HttpLogger, type Options, pinoHttp } from 'pino-http';

/** pino-http's options (pino's, plus the request-line ones) and where the lines go (stdout when absent). */
export interface LoggingParams {
  options: Options;
  destination?: DestinationStream;
}

/** The provider of the LoggingParams; tests override it to read the lines the real app writes. */
export const LOGGING_PARAMS = Symbol('stowage:logging-params');

/**
 * One pino logger per application, behind pino-http: the middleware logs each request once when it
 * ends. Lines logged while handling a request name it by the `requestId` field they carry, as the
 * upload's background lines do; the request is not kept in an AsyncLocalStorage scope, because on
 * Node 20 that turns on promise hooks for every promise of the process: measured, it cost 13% of the
 * CPU per upload and 15% of the uploads per second (issue 18's notes).
 */
@Injectable()
export class RequestLogging {
  private readonly http: HttpLogger;

  constructor(@Inject(LOGGING_PARAMS) { options, destination }: LoggingParams) {
    this.http = pinoHttp(options, destination);
  }

  get logger(): Pino {
    return this.http.logger;
  }

  readonly middleware = (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    this.http(req, res);
    next();
  };
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
    const fields: Record<string, unknown> = {};
    let params = optionalParams;
    if (params.length > 0) {
      fields.context = params[params.length - 1];
      params = params.slice(0, -1);
    }
    const logger = this.logging.logger;
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
