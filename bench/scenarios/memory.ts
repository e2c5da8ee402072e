/** Memory per pending sign-on: Redis (MEMORY USAGE) and the in-memory store (heap growth), and back after expiry. */
import { row, type BenchOptions, type Row } from '../lib/report.js';
import { ServerProcess } from '../lib/server.js';
import { round } from '../lib/stats.js';

export async function memoryScenario(options: BenchOptions): Promise<Row[]> {
  const probe = await ServerProcess.start('servers/memory-probe.ts', {}, { execArgv: ['--expose-gc'] });
  try {
    const redis = (await probe.call('redis', { url: options.redisUrl, count: options.memoryRedisCount }, 300_000)) as any;
    const heap = (await probe.call('heap', { count: options.memoryHeapCount }, 300_000)) as any;
    options.log(`  memory: Redis ${round(redis.bytesPerPendingSignOn, 0)} B per pending sign-on, heap ${round(heap.bytesPerPendingSignOn, 0)} B`);
    const kib = (b: number) => `${round(b / 1024, 1)} KiB`;
    return [
      row({
        scenario: `memory: Redis bytes per pending sign-on (MEMORY USAGE over ${redis.count})`,
        ours: {
          value: redis.bytesPerPendingSignOn,
          unit: 'B',
          detail: `challenge hash + send window; the user's devices hash ${round(redis.bytesPerDeviceHash, 0)} B stays; used_memory +${round(redis.usedMemory.perPendingSignOn, 0)} B each`,
        },
        baseline: {
          name: 'after expiry, used_memory vs start',
          value: (redis.usedMemory.afterExpiry - redis.usedMemory.start) / 1024,
          unit: 'KiB',
          detail: `${redis.transientKeysLeftAfterExpiry} keys left, ${redis.transientKeysWithoutTtl} without TTL, max TTL ${round(redis.maxTtlMs / 60_000, 1)} min`,
        },
        ratio: redis.usedMemory.afterExpiry / redis.usedMemory.start,
        ratioLabel: '(used_memory after/start)',
        target: null,
        raw: redis,
      }),
      row({
        scenario: `memory: in-memory store heap per pending sign-on (over ${heap.count})`,
        ours: { value: heap.bytesPerPendingSignOn, unit: 'B', detail: `heap ${kib(heap.start)} → ${kib(heap.afterCreate)}` },
        baseline: { name: 'after sweep, heap vs start', value: heap.leftAfterSweep / 1024, unit: 'KiB', detail: `heap ${kib(heap.afterSweep)}` },
        ratio: heap.afterSweep / heap.start,
        ratioLabel: '(heap after/start)',
        target: null,
        raw: heap,
      }),
    ];
  } finally {
    await probe.stop();
  }
}
