import type { LoggerService } from '@nestjs/common';

export interface CapturedLog {
  level: 'log' | 'error' | 'warn' | 'debug' | 'verbose' | 'fatal';
  /** What was logged first: a string, or the structured object Stowage logs. */
  message: unknown;
  /** The rest, as Nest passes them: a stack and/or the logger's context last. */
  params: unknown[];
}

/**
 * A Nest logger that keeps every line, and can wait for one: tests await the log a background step
 * writes instead of sleeping. A wait that sees nothing in `timeoutMs` rejects.
 */
export class CapturingLogger implements LoggerService {
  readonly lines: CapturedLog[] = [];
  private readonly waiters = new Set<{ match: (line: CapturedLog) => boolean; resolve: (line: CapturedLog) => void }>();

  log = (message: unknown, ...params: unknown[]) => this.push({ level: 'log', message, params });
  error = (message: unknown, ...params: unknown[]) => this.push({ level: 'error', message, params });
  warn = (message: unknown, ...params: unknown[]) => this.push({ level: 'warn', message, params });
  debug = (message: unknown, ...params: unknown[]) => this.push({ level: 'debug', message, params });
  verbose = (message: unknown, ...params: unknown[]) => this.push({ level: 'verbose', message, params });
  fatal = (message: unknown, ...params: unknown[]) => this.push({ level: 'fatal', message, params });

  /** Resolves with the first matching line at index `since` or later, already logged or still to come. */
  waitFor(match: (line: CapturedLog) => boolean, { since = 0, timeoutMs = 5000 } = {}): Promise<CapturedLog> {
    const seen = this.lines.slice(since).find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (line: CapturedLog) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(
          new Error(`no matching log line within ${timeoutMs} ms; got:\n${this.lines.map((l) => JSON.stringify(l.message)).join('\n')}`),
        );
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  private push(line: CapturedLog): void {
    this.lines.push(line);
    for (const waiter of this.waiters) {
      if (!waiter.match(line)) continue;
      this.waiters.delete(waiter);
      waiter.resolve(line);
    }
  }
}
