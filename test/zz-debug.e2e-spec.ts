import request from 'supertest';
import { createTestApp } from './support/test-app.js';
it('debug', async () => {
  const t = await createTestApp();
  for (const p of ['/', '/upload.js', '/index.html', '/nope', '/docs']) {
    const r = await request(t.server).get(p);
    console.log(p, r.status, r.headers['content-type'], String(r.text).slice(0, 200));
  }
  await t.close();
});
