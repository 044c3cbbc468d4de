// Reference server "naive": the design of the original tutorial, ported to Node. express + multer
// with memoryStorage holds the whole file in memory, answers 202, and only then writes the buffer
// with fs.promises.writeFile. Nothing is durable when 202 goes out, and a crash loses the write.
//
// Env: PORT, UPLOAD_DIR (files land in <UPLOAD_DIR>/files/<id>).
// GET /health reports writes still pending so the harness can wait for them before counting.
import { randomUUID } from 'node:crypto';
import { mkdirSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import express from 'express';
import multer from 'multer';

const port = Number(process.env.PORT ?? 3002);
const root = process.env.UPLOAD_DIR;
if (!root) throw new Error('UPLOAD_DIR is required');
const filesDir = join(root, 'files');
mkdirSync(filesDir, { recursive: true });

let pending = 0;
let failedWrites = 0;

const app = express();
const upload = multer({ storage: multer.memoryStorage() });

app.get('/health', (_req, res) => {
  res.json({ status: 'ok', pending, failedWrites });
});

app.post('/uploads', upload.single('file'), (req, res) => {
  if (!req.file) return res.status(400).json({ message: 'Expected one file in the field "file"' });
  const id = randomUUID();
  res.status(202).json({ id, status: 'received', size: req.file.size });
  pending++;
  fs.writeFile(join(filesDir, id), req.file.buffer)
    .catch((err) => {
      failedWrites++;
      console.error(`write ${id} failed: ${err.message}`);
    })
    .finally(() => pending--);
});

const server = app.listen(port, '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
