import request from 'supertest';
import { until } from './until.js';

/** Reads an upload's record over HTTP until it is `stored` or `failed`, as a client without events would. */
export function settledOverHttp(target: Parameters<typeof request>[0], id: string): Promise<Record<string, unknown>> {
  return until(`upload ${id} to settle`, async () => {
    const res = await request(target).get(`/uploads/${id}`).expect(200);
    const record = res.body as Record<string, unknown>;
    return record.status === 'stored' || record.status === 'failed' ? record : undefined;
  });
}
