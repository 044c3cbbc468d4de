// A tus-js-client in a process of its own, so a test can kill the client (SIGKILL) mid-upload.
// argv: endpoint, file path, chunk size. Prints `URL <upload url>` once created and
// `CHUNK <bytes acknowledged>` after each acknowledged PATCH.
import { readFile } from 'node:fs/promises';
import * as tus from 'tus-js-client';

const [endpoint, path, chunkSize] = process.argv.slice(2);
const file = await readFile(path);
const upload = new tus.Upload(file, {
  endpoint,
  chunkSize: Number(chunkSize),
  retryDelays: null,
  storeFingerprintForResuming: false,
  onUploadUrlAvailable: () => process.stdout.write(`URL ${upload.url}\n`),
  onChunkComplete: (_chunk, accepted) => process.stdout.write(`CHUNK ${accepted}\n`),
  onSuccess: () => process.stdout.write('DONE\n'),
  onError: (err) => {
    process.stderr.write(`${err}\n`);
    process.exit(1);
  },
});
upload.start();
