import { afterAll, describe } from 'vitest';
import { RedisMfaStore } from '../../src/stores/redis.js';
import { connectRedis, deletePrefix, uniquePrefix } from '../helpers/redis.js';
import { storeConformance } from './conformance.js';

const redis = await connectRedis();
afterAll(async () => {
  await redis?.quit();
});

describe.skipIf(!redis)('redis', () => {
  storeConformance('redis', async () => {
    const prefix = uniquePrefix('conformance');
    return { store: new RedisMfaStore({ client: redis!, prefix }), cleanup: () => deletePrefix(redis!, prefix) };
  });
});
