import { afterAll, describe } from 'vitest';
import { createClient } from 'redis6';
import { RedisMfaStore } from '../../src/stores/redis.js';
import { clientOptions, connectClient, deletePrefix, uniquePrefix } from '../helpers/redis.js';
import { storeConformance } from './conformance.js';

// The same conformance suite as redis.test.ts, on a client of the next major
// of `redis` (installed as the alias redis6): the peer range admits both, and
// redis 6 speaks RESP3 by default where 5 speaks RESP2.
const redis = await connectClient(createClient(clientOptions()));
afterAll(async () => {
  await redis?.quit();
});

describe.skipIf(!redis)('redis 6', () => {
  storeConformance('redis 6', async () => {
    const prefix = uniquePrefix('conformance6');
    return { store: new RedisMfaStore({ client: redis!, prefix }), cleanup: () => deletePrefix(redis!, prefix) };
  });
});
