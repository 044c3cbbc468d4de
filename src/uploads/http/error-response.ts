import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';

/** Nest's JSON error shape, with Stowage's machine-readable `code` where one applies. */
export interface ErrorBody {
  statusCode: number;
  message: string | string[];
  error: string;
  code?: string;
}

export function errorBody(statusCode: number, message: string | string[], code?: string): ErrorBody {
  return { statusCode, message, error: STATUS_CODES[statusCode] ?? 'Error', ...(code === undefined ? {} : { code }) };
}

/**
 * How long the rest of a rejected request's body is read and dropped once the answer is out. Closing
 * at once would make the kernel reset the connection while the client is still sending, and a reset
 * can destroy the answer before the client reads it; reading on for a while lets it arrive.
 */
export const LINGER_MS = 2_000;

/**
 * The one place that decides how an error answer ends the exchange. A request whose body is still
 * arriving (rejected mid-upload: a limit, a type, a refusal) is not answered with `Connection: close`,
 * which makes Node close at once; Node reads and drops the rest while the connection lingers, and
 * closes it if the body has not ended `LINGER_MS` after the answer. A process going away (`closing`)
 * closes connections whose request it has read.
 */
export function endExchangeAfterError(req: IncomingMessage, res: ServerResponse, closing: boolean): void {
  if (req.complete) {
    if (closing) res.setHeader('Connection', 'close');
    return;
  }
  res.once('finish', () => {
    if (req.complete) return;
    req.resume(); // whatever still arrives is dropped, so the client can finish sending and read the answer
    const timer = setTimeout(() => req.socket.destroy(), LINGER_MS);
    timer.unref();
    req.once('end', () => clearTimeout(timer));
  });
}
