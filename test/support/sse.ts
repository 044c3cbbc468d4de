import http from 'node:http';

export interface ServerSentEvent {
  event: string;
  data: string;
}

export interface EventStream {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Resolves with the next event, in order; rejects if the stream ends first or after `timeoutMs`. */
  next(timeoutMs?: number): Promise<ServerSentEvent>;
  /** Resolves with every event not yet taken by `next` once the server ends the stream. */
  ended(timeoutMs?: number): Promise<ServerSentEvent[]>;
  close(): void;
  /** The body of a non-2xx answer. */
  body(): string;
}

/** Opens `url` as a Server-Sent Events stream and parses it strictly (text/event-stream, LF-separated). */
export function openEventStream(url: string): Promise<EventStream> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { Accept: 'text/event-stream' } }, (res) => {
      const queue: ServerSentEvent[] = [];
      const wakers = new Set<() => void>();
      let raw = '';
      let buffer = '';
      let done = false;
      const wake = () => wakers.forEach((w) => w());

      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        raw += chunk;
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event: ServerSentEvent = { event: 'message', data: '' };
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const [field, ...rest] = line.split(':');
            const value = rest.join(':').replace(/^ /, '');
            if (field === 'event') event.event = value;
            else if (field === 'data') data.push(value);
          }
          if (data.length === 0) continue;
          event.data = data.join('\n');
          queue.push(event);
        }
        wake();
      });
      const finish = () => {
        done = true;
        wake();
      };
      res.on('end', finish);
      res.on('close', finish);

      const waitFor = <T>(ready: () => T | undefined, what: string, timeoutMs: number) =>
        new Promise<T>((resolveWait, rejectWait) => {
          const check = () => {
            const value = ready();
            if (value !== undefined) {
              stop();
              resolveWait(value);
            } else if (done) {
              stop();
              rejectWait(new Error(`stream ended before ${what}; got so far: ${raw}`));
            }
          };
          const timer = setTimeout(() => {
            stop();
            rejectWait(new Error(`no ${what} within ${timeoutMs} ms; got so far: ${raw}`));
          }, timeoutMs);
          const stop = () => {
            clearTimeout(timer);
            wakers.delete(check);
          };
          wakers.add(check);
          check();
        });

      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        next: (timeoutMs = 5_000) => waitFor(() => queue.shift(), 'event', timeoutMs),
        ended: (timeoutMs = 5_000) => waitFor(() => (done ? queue.splice(0) : undefined), 'end of stream', timeoutMs),
        close: () => req.destroy(),
        body: () => raw,
      });
    });
    req.on('error', reject);
  });
}
