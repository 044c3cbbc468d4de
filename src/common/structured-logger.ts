import { inspect } from 'node:util';
import { ConsoleLogger, Logger, type LoggerService } from '@nestjs/common';
import { withoutUndefined } from './without-undefined.js';

/** One log line's fields: a message, a stable `event` name, ids, and `err` for an error. */
export interface LogFields {
  msg: string;
  event?: string;
  err?: unknown;
  [field: string]: unknown;
}

type Level = 'log' | 'warn' | 'error' | 'debug';

/**
 * Nest's `Logger`, for the library's structured lines. A logger that takes objects (the standalone
 * app's pino, a host's nestjs-pino, Nest's ConsoleLogger in json mode) gets the fields as one object;
 * Nest's default ConsoleLogger, which would print an object as `Object(6) { … }`, gets one readable
 * line instead: the message, then `key=value` pairs, and an error's stack as its trace. Fields with no
 * value are left out either way.
 */
export class StructuredLogger {
  private readonly logger: Logger;

  constructor(context: string) {
    this.logger = new Logger(context);
  }

  log(fields: LogFields): void {
    this.write('log', fields);
  }

  warn(fields: LogFields): void {
    this.write('warn', fields);
  }

  error(fields: LogFields): void {
    this.write('error', fields);
  }

  debug(fields: LogFields): void {
    this.write('debug', fields);
  }

  private write(level: Level, fields: LogFields): void {
    const present = withoutUndefined(fields);
    if (!printsText()) {
      this.logger[level](present);
      return;
    }
    const { msg, err, ...rest } = present;
    const pairs = Object.entries(rest).map(
      ([key, value]) => `${key}=${typeof value === 'string' ? value : inspect(value, { breakLength: Infinity })}`,
    );
    const text = [msg, ...pairs].join(' ');
    if (level === 'error' && err instanceof Error) this.logger.error(text, err.stack);
    else this.logger[level](err === undefined ? text : `${text} err=${err instanceof Error ? err.message : inspect(err)}`);
  }
}

/**
 * Whether the app's logger is Nest's ConsoleLogger printing text. Nest keeps the app's logger in a
 * static it does not expose; the default is a ConsoleLogger, and so is a host's own unless replaced.
 */
function printsText(): boolean {
  const active = (Logger as unknown as { staticInstanceRef?: LoggerService }).staticInstanceRef;
  return active instanceof ConsoleLogger && (active as unknown as { options?: { json?: boolean } }).options?.json !== true;
}
