/**
 * Keeps the benchmark scripts working: one very short round of every
 * scenario, checking only that each produced numbers. Benchmarks are not
 * tests: nothing here asserts a time or a target.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { runScenarios, SCENARIOS } from '../../bench/bench.js';
import { connectPostgres, DATABASE_URL } from '../helpers/postgres.js';
import { connectRedis, REDIS_URL } from '../helpers/redis.js';

const redis = await connectRedis();
const postgres = await connectPostgres();

describe.skipIf(!redis || !postgres)('benchmarks (smoke)', () => {
  afterAll(async () => {
    await redis?.quit();
    await postgres?.end();
  });

  it('runs one short round of each scenario and reports numbers', async () => {
    const options = { seconds: 0.6, rounds: 1, warmup: 0, vus: 4, connections: 4, redisUrl: REDIS_URL, databaseUrl: DATABASE_URL, memoryRedisCount: 200, memoryHeapCount: 1000, log: () => {} };
    // In two batches: the floor starts four servers per run, and all at once they would not start in time on two cores.
    const floors = SCENARIOS.filter((s) => s.startsWith('floor'));
    const rows = [
      ...(await runScenarios(SCENARIOS.filter((s) => !floors.includes(s)), options, { attack: { attackers: 12, victims: 1 }, parallel: true })),
      ...(await runScenarios(floors, options, { parallel: true })),
    ];
    expect(rows.map((r) => r.scenario.split(':')[0])).toEqual(['gate', 'gate', 'sign-on', 'sign-on', 'sign-on', 'code check under attack (Redis)', 'peer', 'memory', 'memory', 'floor', 'floor', 'floor']);
    for (const r of rows) {
      expect(Number.isFinite(r.ours.value), r.scenario).toBe(true);
      expect(Number.isFinite(r.baseline.value), r.scenario).toBe(true);
      expect(Number.isFinite(r.ratio), r.scenario).toBe(true);
    }
    // Nothing the scenarios made is left in Redis.
    const left: string[] = [];
    for await (const keys of redis!.scanIterator({ MATCH: 'bench:*', COUNT: 1000 })) left.push(...keys);
    expect(left).toEqual([]);
    const schemas = await postgres!.query("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'bench\\_%'");
    expect(schemas.rows).toEqual([]);
  }, 120_000);
});
