import { getQueueToken } from '@nestjs/bullmq';
import { UPLOADS_QUEUE_TOKEN } from './bullmq.providers.js';
import { UPLOADS_QUEUE } from '../../tasks/storage-job.js';

describe('bullmq providers', () => {
  it('name the queue with the token @nestjs/bullmq registers it under', () => {
    // The module injects the queue by this constant so that it need not load @nestjs/bullmq itself.
    expect(UPLOADS_QUEUE_TOKEN).toBe(getQueueToken(UPLOADS_QUEUE));
  });
});
