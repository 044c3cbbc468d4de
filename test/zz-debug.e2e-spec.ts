import request from 'supertest';
import { createTestApp } from './support/test-app.js';
import { randomFile } from './support/multipart.js';
it('debug', async () => {
  const t = await createTestApp({ MAX_FILE_SIZE: 1024 * 1024, LOG_LEVEL: 'error' });
  const r = await request(t.server).post('/uploads').attach('file', randomFile(1024 * 1024 + 1), 'big.bin');
  console.log(r.status, r.text);
  await t.close();
});
