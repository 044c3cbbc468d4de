import request from 'supertest';
import { createTestApp, type TestApp } from './support/test-app.js';

const KEY_A = 'key-a-0123456789abcdef';
const KEY_B = 'key-b-fedcba9876543210';

describe('API keys in standalone mode (e2e)', () => {
  describe('with API_KEYS set', () => {
    let t: TestApp;

    beforeAll(async () => {
      t = await createTestApp({ API_KEYS: ` ${KEY_A} , ${KEY_B} ` });
    });
    afterAll(() => t.close());

    it('answers 401 without a key, asking for a bearer token, and takes nothing in', async () => {
      const res = await request(t.server).post('/uploads').attach('file', Buffer.from('secret'), 'a.txt').expect(401);
      expect(res.headers['www-authenticate']).toBe('Bearer');
      expect(res.body).toMatchObject({ statusCode: 401, message: 'Missing API key: send "Authorization: Bearer <key>"' });
      expect(await t.staged()).toEqual([]);
      await request(t.server).get('/uploads').set('Authorization', `Basic ${KEY_A}`).expect(401);
    });

    it('answers 401 for a wrong key, a prefix of a key, or a key with extra bytes', async () => {
      for (const key of ['wrong-key-0123456789', KEY_A.slice(0, -1), `${KEY_A}x`]) {
        const res = await request(t.server).get('/uploads').set('Authorization', `Bearer ${key}`).expect(401);
        expect(res.body.message).toBe('Invalid API key');
        expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
      }
    });

    it('lets every configured key through to every uploads route', async () => {
      const { body } = await request(t.server)
        .post('/uploads')
        .set('Authorization', `Bearer ${KEY_A}`)
        .attach('file', Buffer.from('hi'), 'hi.txt')
        .expect(202);
      await t.uploads.waitUntilSettled(body.id, { timeoutMs: 5000 });
      await request(t.server).get(`/uploads/${body.id}`).set('Authorization', `bearer ${KEY_B}`).expect(200);
      await request(t.server).get(`/uploads/${body.id}/content`).set('Authorization', `Bearer ${KEY_B}`).expect(200);
      await request(t.server).get(`/uploads/${body.id}`).expect(401);
    });

    it('leaves /health and /docs open', async () => {
      await request(t.server).get('/health').expect(200);
      await request(t.server).get('/docs-json').expect(200);
    });
  });

  it('is off by default', async () => {
    // Explicitly empty: ConfigModule copies validated variables into process.env, so the keys of the
    // app above would otherwise still be there.
    const t = await createTestApp({ API_KEYS: '' });
    try {
      await request(t.server).get('/uploads').expect(200);
    } finally {
      await t.close();
    }
  });

  it('refuses to start with a key too short to be a secret, naming the variable', async () => {
    await expect(createTestApp({ API_KEYS: 'short' })).rejects.toThrow(
      /API_KEYS must be a comma-separated list of keys, each at least 16 characters/,
    );
  });
});
