// Reference server "raw-stream": a bare node:http server; busboy parses the multipart body and the
// file part is piped straight to its final file with stream.pipeline. 202 is sent once the file
// is closed. No validation, hashing, records or background work: the practical upper bound for
// accepting uploads in Node.
//
// Env: PORT, UPLOAD_DIR (files land in <UPLOAD_DIR>/files/<id>).
// GET /health reports requests still in progress, so the harness can wait for them before counting.
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';

const port = Number(process.env.PORT ?? 3001);
const root = process.env.UPLOAD_DIR;
if (!root) throw new Error('UPLOAD_DIR is required');
const filesDir = join(root, 'files');
await mkdir(filesDir, { recursive: true });

function send(res, status, body) {
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
  res.end(json);
}

/** Pipes one file part to disk; resolves once the file is closed, removes a partial file on error. */
async function saveFile(file) {
  const id = randomUUID();
  const path = join(filesDir, id);
  const out = createWriteStream(path, { flags: 'wx' });
  try {
    await pipeline(file, out); // resolves after the write stream has closed its descriptor
  } catch (err) {
    await rm(path, { force: true });
    throw err;
  }
  return { id, size: out.bytesWritten };
}

/** Requests still being handled, clean-up of a cut-off upload included: /health reports it. */
let active = 0;

async function upload(req, res) {
  active++;
  let saving;
  try {
    let parser;
    try {
      parser = busboy({ headers: req.headers, limits: { files: 1 } });
    } catch (err) {
      return send(res, 400, { message: err.message });
    }
    parser.on('file', (field, file) => {
      if (field !== 'file' || saving) return file.resume();
      saving = saveFile(file);
      saving.catch(() => undefined); // awaited below; a failed request must not leave it unhandled
    });
    try {
      await pipeline(req, parser); // a client that goes away destroys the parser and so the file stream
      if (!saving) return send(res, 400, { message: 'Expected one file in the field "file"' });
      const { id, size } = await saving;
      send(res, 202, { id, status: 'stored', size });
    } catch (err) {
      if (req.destroyed || res.headersSent) res.destroy();
      else send(res, 400, { message: err.message });
    }
  } finally {
    await saving?.catch(() => undefined); // a partial file is removed before this request counts as done
    active--;
  }
}

const server = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/uploads') return void upload(req, res);
  if (req.method === 'GET' && req.url === '/health') return send(res, 200, { status: 'ok', pending: active });
  send(res, 404, { message: 'Not found' });
});
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
