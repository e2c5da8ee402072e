/**
 * Memory per pending sign-on, in its own process (run with --expose-gc):
 * - Redis: N users with a paired device, then N challenges started through
 *   auth.challenges.start() on a RedisMfaStore; MEMORY USAGE of every key
 *   they made, by kind; then Redis's own expiry removes the transient keys.
 * - In-memory store: heap growth over M challenges, then after sweep()
 *   past their expiry.
 */
import { randomBytes } from 'node:crypto';
import passport from 'passport';
import { createClient, type RedisClientType } from 'redis';
import { mfa, MemoryMfaStore, RedisMfaStore, type MfaStore, type NewDeviceRecord } from '../../src/index.js';
import { serveCommands } from '../lib/server.js';
import { sleep } from '../lib/stats.js';

const SECRET = 'bench-secret-that-is-at-least-32-bytes-long!!';
const quiet = { info: () => {}, warn: () => {}, error: (m: string, e?: unknown) => console.error(m, e) };

function device(userId: string, now: number): NewDeviceRecord {
  return {
    id: `d-${userId}`,
    userId,
    type: 'email',
    data: { email: `${userId}@bench.test` },
    nickname: null,
    status: 'ACTIVE',
    createdAt: now,
    updatedAt: now,
    activatedAt: now,
    activationChallengeId: null,
  };
}

function library(store: MfaStore) {
  return mfa<{ id: string }>({
    secret: SECRET,
    store,
    passport: new passport.Passport(),
    user: { id: (u) => u.id },
    // Delivery is not what this measures: a transport that accepts every mail.
    email: { transport: { sendMail: async () => undefined } },
    limits: { sendLimit: 1_000_000_000 },
    logger: quiet,
  });
}

async function inBatches(count: number, batch: number, task: (i: number) => Promise<unknown>) {
  for (let i = 0; i < count; i += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, count - i) }, (_, k) => task(i + k)));
  }
}

async function redisProbe(url: string, count: number) {
  const client = createClient({ url }) as RedisClientType;
  client.on('error', () => {});
  await client.connect();
  const prefix = `bench:memory:${randomBytes(4).toString('hex')}:`;
  const store = new RedisMfaStore({ client, prefix });
  const auth = library(store);
  const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await client.info('memory'))![1]);
  const scan = async () => {
    const keys: string[] = [];
    for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) keys.push(...batch);
    return keys;
  };
  try {
    const now = Date.now();
    await inBatches(count, 500, (i) => store.insertDevice(device(`u${i}`, now), 5));
    const start = await usedMemory();
    await inBatches(count, 200, (i) => auth.challenges.start(`u${i}`));
    const afterCreate = await usedMemory();

    const keys = await scan();
    const byKind: Record<string, { keys: number; bytes: number }> = {};
    const ttls: number[] = [];
    for (let i = 0; i < keys.length; i += 500) {
      const chunk = keys.slice(i, i + 500);
      const multi = client.multi();
      for (const key of chunk) multi.memoryUsage(key, { SAMPLES: 0 }).pTTL(key);
      const replies = (await multi.exec()) as unknown as number[];
      chunk.forEach((key, k) => {
        const kind = /:(devices|challenge|sends|failures|lock)(:|$)/.exec(key)?.[1] ?? 'other';
        byKind[kind] ??= { keys: 0, bytes: 0 };
        byKind[kind].keys += 1;
        byKind[kind].bytes += Number(replies[2 * k]);
        if (kind !== 'devices') ttls.push(Number(replies[2 * k + 1]));
      });
    }
    const transientKeys = keys.filter((key) => !/:devices$/.test(key));
    // Every transient key must carry a TTL; we then let Redis expire them now rather than in 15 minutes.
    const withoutTtl = ttls.filter((t) => t < 0).length;
    const maxTtlMs = Math.max(...ttls);
    for (let i = 0; i < transientKeys.length; i += 1000) {
      const multi = client.multi();
      for (const key of transientKeys.slice(i, i + 1000)) multi.pExpire(key, 1);
      await multi.exec();
    }
    let left = transientKeys.length;
    for (let waited = 0; waited < 10_000 && left > 0; waited += 100) {
      await sleep(100);
      left = (await scan()).filter((key) => !/:devices$/.test(key)).length;
    }
    const afterExpiry = await usedMemory();
    const pending = (byKind.challenge?.bytes ?? 0) + (byKind.sends?.bytes ?? 0);
    return {
      count,
      bytesPerPendingSignOn: pending / count,
      bytesPerDeviceHash: (byKind.devices?.bytes ?? 0) / Math.max(1, byKind.devices?.keys ?? 1),
      byKind,
      usedMemory: { start, afterCreate, afterExpiry, perPendingSignOn: (afterCreate - start) / count },
      transientKeysWithoutTtl: withoutTtl,
      maxTtlMs,
      transientKeysLeftAfterExpiry: left,
    };
  } finally {
    for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) if (batch.length > 0) await client.del(batch);
    await client.quit();
  }
}

function heap(): number {
  for (let i = 0; i < 4; i++) global.gc!();
  return process.memoryUsage().heapUsed;
}

async function heapProbe(count: number) {
  const store = new MemoryMfaStore({ sweepIntervalMs: 24 * 3600_000 });
  const auth = library(store);
  const now = Date.now();
  for (let i = 0; i < count; i++) await store.insertDevice(device(`u${i}`, now), 5);
  // Compile the email templates before the baseline, so that it holds them.
  await auth.challenges.start('u0');
  store.sweep(Date.now() + 3600_000);
  const start = heap();
  await inBatches(count, 1000, (i) => auth.challenges.start(`u${i}`));
  const afterCreate = heap();
  // Past every challenge's expiry and send window (10 + 5 minutes, 15 minutes).
  store.sweep(Date.now() + 3600_000);
  const afterSweep = heap();
  store.close();
  return { count, start, afterCreate, afterSweep, bytesPerPendingSignOn: (afterCreate - start) / count, leftAfterSweep: afterSweep - start };
}

serveCommands(
  {
    redis: (payload) => redisProbe(String(payload.url), Number(payload.count)),
    heap: (payload) => heapProbe(Number(payload.count)),
  },
  async () => {},
);
if (typeof global.gc !== 'function') {
  process.send?.({ type: 'failed', error: 'run with --expose-gc' });
} else {
  process.send?.({ type: 'ready', port: 0 });
}
