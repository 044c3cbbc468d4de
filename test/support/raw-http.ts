import net from 'node:net';

export interface RawReply {
  /** 0 when the server closed the connection without answering. */
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface RawSend {
  /** Request line and headers, without the blank line (added here). */
  head: string[];
  body?: Buffer | string;
  /** Close the connection right after writing, without waiting for an answer. */
  abort?: boolean;
  /** Send the body in pieces of `bytes` every `everyMs`. */
  trickle?: { bytes: number; everyMs: number };
}

/**
 * Writes exactly the bytes given over a plain TCP socket (malformed requests included, which an HTTP
 * client would refuse to send) and parses whatever comes back.
 */
export function sendRaw(port: number, request: RawSend): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let trickle: NodeJS.Timeout | undefined;
    let settled = false;
    const done = () => {
      if (settled) return;
      settled = true;
      clearInterval(trickle);
      resolve(parse(Buffer.concat(chunks)).reply);
    };
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      // We never half-close (Node's server aborts a request whose client does): stop once a whole answer is in.
      const { reply, bodyBytes } = parse(Buffer.concat(chunks));
      const length = Number(reply.headers['content-length'] ?? NaN);
      if (reply.status && bodyBytes >= length) {
        socket.destroy();
        done();
      }
    });
    socket.on('end', done);
    socket.on('close', done);
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? done() : reject(err)));
    socket.on('connect', () => {
      socket.write(request.head.join('\r\n') + '\r\n\r\n');
      const body = request.body === undefined ? Buffer.alloc(0) : Buffer.from(request.body);
      if (request.trickle) {
        let offset = 0;
        trickle = setInterval(() => {
          if (socket.destroyed || offset >= body.length) return clearInterval(trickle);
          socket.write(body.subarray(offset, offset + request.trickle!.bytes));
          offset += request.trickle!.bytes;
        }, request.trickle.everyMs);
        return;
      }
      socket.write(body);
      if (request.abort) socket.destroy();
    });
  });
}

/** The answer so far: headers as latin1 (as HTTP has them), the body as the UTF-8 the service sends. */
function parse(bytes: Buffer): { reply: RawReply; bodyBytes: number } {
  const split = bytes.indexOf('\r\n\r\n');
  if (split < 0) return { reply: { status: 0, headers: {}, body: '' }, bodyBytes: 0 };
  const [statusLine, ...lines] = bytes.subarray(0, split).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const body = bytes.subarray(split + 4);
  return { reply: { status: Number(statusLine?.split(' ')[1] ?? 0), headers, body: body.toString('utf8') }, bodyBytes: body.length };
}
