import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCluster, type RedisClusterType } from 'redis';
import { RedisMfaStore } from '../../src/stores/redis.js';
import { hasRedisServer, RedisCluster } from '../helpers/redis-server.js';
import { uniquePrefix } from '../helpers/redis.js';
import { storeConformance } from './conformance.js';

const available = hasRedisServer();

describe.skipIf(!available)('redis cluster', () => {
  let cluster: RedisCluster;
  let client: RedisClusterType;

  beforeAll(async () => {
    cluster = await RedisCluster.start();
    client = createCluster({ rootNodes: cluster.nodes.map((n) => ({ url: n.url })) }) as RedisClusterType;
    client.on('error', () => {});
    await client.connect();
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    await cluster?.destroy();
  });

  it('spreads users over several masters', async () => {
    const store = new RedisMfaStore({ client, prefix: uniquePrefix('cluster') });
    const slots = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const userId = `spread-${i}`;
      await store.insertDevice({ id: 'd', userId, type: 'email', data: { email: 'a@b.test' }, nickname: null, status: 'ACTIVE', createdAt: 1, updatedAt: 1, activatedAt: 1, activationChallengeId: null }, 5);
      const master = client.getMasters().find((m) => m.port === client.getSlotMaster(keySlot(`{spread-${i}}`)).port);
      slots.add(String(master?.port));
    }
    expect(slots.size).toBeGreaterThan(1);
  });

  storeConformance('redis cluster', async () => ({
    store: new RedisMfaStore({ client, prefix: uniquePrefix('cluster') }),
    cleanup: async () => {},
  }));
});

// CRC16/XMODEM of the hash tag, as Redis Cluster computes a key's slot.
function keySlot(key: string): number {
  const open = key.indexOf('{');
  const close = key.indexOf('}', open + 1);
  const tag = open >= 0 && close > open + 1 ? key.slice(open + 1, close) : key;
  let crc = 0;
  for (const byte of Buffer.from(tag)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}
