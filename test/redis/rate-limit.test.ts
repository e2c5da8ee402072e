/**
 * The per-address limit counts in the Redis MFA store: instances that share
 * it share each address's count, and each keeps to itself only what it
 * learnt (an address over the limit, until its window ends).
 */
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisMfaStore } from '../../src/stores/redis.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { connectRedis, deletePrefix, uniquePrefix } from '../helpers/redis.js';
import { SmtpSink } from '../helpers/smtp.js';

const redis = await connectRedis();

describe.skipIf(!redis)('the per-address limit across instances on one Redis', () => {
  let sink: SmtpSink;
  const prefix = uniquePrefix('rate');
  const instance = (): TestApp => createTestApp({ sink, mfa: { store: new RedisMfaStore({ client: redis!, prefix }), rateLimit: { limit: 4 } } });
  const post = (t: TestApp, address: string) => request(t.app).post('/mfa/challenge').set('X-Forwarded-For', address).type('form').send({ otp: '123456' });

  beforeAll(async () => {
    sink = await SmtpSink.start();
  });

  afterAll(async () => {
    await deletePrefix(redis!, prefix);
    await sink.close();
    await redis!.quit();
  });

  it('one count per address, whichever instance a write reaches; another address has its own', async () => {
    const [a, b] = [instance(), instance()];
    const statuses = [];
    for (const t of [a, b, a, b, a, b]) statuses.push((await post(t, '203.0.113.1')).status);
    expect(statuses).toEqual([403, 403, 403, 403, 429, 429]);
    expect((await post(b, '203.0.113.2')).status).toBe(403);
    // A third instance learns it from Redis on its first write.
    const c = instance();
    const refused = await post(c, '203.0.113.1');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(50);
  });

  it('parallel writes from one address over two instances pass exactly the limit', async () => {
    const [a, b] = [instance(), instance()];
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => post(i % 2 ? a : b, '203.0.113.3')));
    expect(results.filter((r) => r.status === 403)).toHaveLength(4);
    expect(results.filter((r) => r.status === 429)).toHaveLength(16);
  });

  it('the count has a TTL to the end of its window', async () => {
    await post(instance(), '203.0.113.4');
    const keys: string[] = [];
    for await (const found of redis!.scanIterator({ MATCH: `${prefix}{hits:*203.0.113.4}`, COUNT: 1000 })) keys.push(...found);
    expect(keys).toHaveLength(1);
    const ttl = await redis!.pTTL(keys[0]!);
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });
});
