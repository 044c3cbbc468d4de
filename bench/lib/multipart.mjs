// Multipart/form-data bodies for the load clients: one file part in the field `file`.
// Small bodies are built once as a Buffer (the 202 → stored client and wrk's template, see wrk.mjs); large ones are streamed.

/** Fixed boundary so a prebuilt body and its content-type header always agree. */
export const BOUNDARY = '----StowageBench7d1c0f3e9a5b42c8';
export const CONTENT_TYPE = `multipart/form-data; boundary=${BOUNDARY}`;

/** Bytes before and after the file's content, and the total length for `size` content bytes. */
export function envelope(size, { field = 'file', filename = 'bench.bin', type = 'application/octet-stream' } = {}) {
  const head = Buffer.from(
    `--${BOUNDARY}\r\n` + `Content-Disposition: form-data; name="${field}"; filename="${filename}"\r\n` + `Content-Type: ${type}\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
  return { head, tail, contentLength: head.length + size + tail.length };
}

const PATTERN_BYTES = 1 << 20;
let pattern;

/**
 * 1 MiB of deterministic pseudo-random bytes (xorshift32): incompressible-looking content, the
 * same on every run, with no recognisable file signature. Large uploads repeat it.
 */
export function payloadPattern() {
  if (!pattern) {
    const words = new Uint32Array(PATTERN_BYTES / 4);
    let x = 0x9e3779b9;
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      words[i] = x;
    }
    pattern = Buffer.from(words.buffer);
  }
  return pattern;
}

/** A whole multipart body for a small file (at most 1 MiB of content), built once per figure. */
export function smallBody(size) {
  if (size > PATTERN_BYTES) throw new Error(`smallBody is for files up to ${PATTERN_BYTES} bytes, got ${size}`);
  const { head, tail } = envelope(size);
  return Buffer.concat([head, payloadPattern().subarray(0, size), tail]);
}
