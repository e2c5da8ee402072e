import { MemoryStore as RateLimitMemoryStore } from 'express-rate-limit';
import { describe, expect, it } from 'vitest';
import { OverLimitMemo } from '../../src/http/over-limit-memo.js';
import { MfaRateLimitStore } from '../../src/http/rate-limit-store.js';
import { MemoryMfaStore } from '../../src/stores/memory.js';

describe("express-rate-limit's Store on MfaStore.hit", () => {
  it('increments in a fixed window, decrements, and resets a key', async () => {
    let now = 1_000_000;
    const store = new MfaRateLimitStore(new MemoryMfaStore(), 60_000, () => now);
    expect(await store.increment('192.0.2.1')).toEqual({ totalHits: 1, resetTime: new Date(1_060_000) });
    now += 1_000;
    expect(await store.increment('192.0.2.1')).toEqual({ totalHits: 2, resetTime: new Date(1_060_000) });
    await store.decrement('192.0.2.1');
    expect((await store.increment('192.0.2.1')).totalHits).toBe(2);
    expect((await store.increment('192.0.2.2')).totalHits).toBe(1);
    await store.resetKey('192.0.2.1');
    now += 1_000;
    expect(await store.increment('192.0.2.1')).toEqual({ totalHits: 1, resetTime: new Date(1_062_000) });
    now = 1_062_000;
    expect(await store.increment('192.0.2.1')).toEqual({ totalHits: 1, resetTime: new Date(1_122_000) });
  });
});

describe('OverLimitMemo', () => {
  it('learns a key over the limit from the store, until its window ends; resetKey forgets it', async () => {
    let now = Date.now();
    const inner = new RateLimitMemoryStore();
    inner.init({ windowMs: 60_000 } as never);
    const memo = new OverLimitMemo(inner, 2, () => now);
    for (let i = 0; i < 2; i++) await memo.increment('k');
    expect(memo.until('k')).toBeUndefined();
    const over = await memo.increment('k');
    expect(over.totalHits).toBe(3);
    expect(memo.until('k')).toBe(over.resetTime!.getTime());
    expect(memo.until('other')).toBeUndefined();
    now = over.resetTime!.getTime();
    expect(memo.until('k')).toBeUndefined();

    now = Date.now();
    await memo.increment('k');
    expect(memo.until('k')).toBeDefined();
    await memo.resetKey('k');
    expect(memo.until('k')).toBeUndefined();
    expect((await memo.increment('k')).totalHits).toBe(1);
    inner.shutdown();
  });

  it('keeps at most 10,000 keys: expired ones go first, then the oldest', async () => {
    let now = 0;
    let reset = 1_000;
    const memo = new OverLimitMemo({ increment: () => ({ totalHits: 2, resetTime: new Date(reset) }), decrement: () => {}, resetKey: () => {} }, 1, () => now);
    for (let i = 0; i < 10_000; i++) await memo.increment(`old-${i}`);
    reset = 5_000;
    // Full, and nothing expired yet: the oldest key makes room.
    await memo.increment('newer');
    expect(memo.until('old-0')).toBeUndefined();
    expect(memo.until('old-1')).toBe(1_000);
    now = 2_000;
    await memo.increment('newest');
    // Full again: the expired ones are swept, and nothing live is dropped.
    expect(memo.until('newer')).toBe(5_000);
    expect(memo.until('newest')).toBe(5_000);
    for (let i = 0; i < 9_998; i++) await memo.increment(`live-${i}`);
    await memo.increment('one-more');
    // Full of live keys: the oldest ('newer') made room.
    expect(memo.until('newer')).toBeUndefined();
    expect(memo.until('one-more')).toBe(5_000);
  });
});
