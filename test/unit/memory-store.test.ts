import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryMfaStore } from '../../src/stores/memory.js';
import type { ChallengeRecord, NewDeviceRecord } from '../../src/stores/types.js';

afterEach(() => {
  vi.useRealTimers();
});

function challenge(id: string, now: number, userId = 'u1'): ChallengeRecord {
  return {
    id,
    userId,
    deviceId: 'd1',
    purpose: 'signon',
    deviceStatus: 'ACTIVE',
    hash: 'aa'.repeat(32),
    attempts: 0,
    maxAttempts: 3,
    createdAt: now,
    sentAt: now,
    expiresAt: now + 500,
  };
}

function device(id: string, userId = 'u1'): NewDeviceRecord {
  return {
    id,
    userId,
    type: 'email',
    data: { email: `${id}@example.test` },
    nickname: null,
    status: 'ACTIVE',
    createdAt: 1,
    updatedAt: 1,
    activatedAt: 1,
    activationChallengeId: null,
  };
}

/** The store's per-user table, to see what a sweep left behind. */
function users(store: MemoryMfaStore): Map<string, { challenges: Map<string, unknown>; trusted: Map<string, unknown>; sends?: unknown; failures?: unknown; lockedUntil?: number }> {
  return (store as unknown as { users: Map<string, never> }).users;
}

const WRONG = 'bb'.repeat(32);

describe('MemoryMfaStore sweep', () => {
  it('drops expired challenges, then ended windows, then the user entry', async () => {
    const store = new MemoryMfaStore();
    try {
      const t0 = Date.now();
      // The code's device must exist for a guess to be evaluated; it goes before the last sweep.
      await store.insertDevice(device('d1'), 5);
      expect(await store.createChallenge(challenge('c1', t0), 1000, { limit: 5, windowMs: 5000 }, t0)).toEqual({ ok: true });
      const attempt = await store.attemptChallenge('u1', 'c1', WRONG, { threshold: 10, windowMs: 3000, durationMs: 60_000 }, t0);
      expect(attempt).toEqual({ status: 'invalid', remainingAttempts: 2 });

      store.sweep(t0 + 999);
      expect(users(store).get('u1')!.challenges.has('c1')).toBe(true);

      store.sweep(t0 + 1000);
      const state = users(store).get('u1')!;
      expect(state.challenges.size).toBe(0);
      expect(state.failures).toBeDefined();
      expect(state.sends).toBeDefined();

      store.sweep(t0 + 3000);
      expect(users(store).get('u1')!.failures).toBeUndefined();
      expect(users(store).get('u1')!.sends).toBeDefined();

      await store.deleteDevice('u1', 'd1');
      store.sweep(t0 + 5000);
      expect(users(store).has('u1')).toBe(false);
    } finally {
      store.close();
    }
  });

  it('drops an ended lock', async () => {
    const store = new MemoryMfaStore();
    try {
      const t0 = Date.now();
      await store.insertDevice(device('d1'), 5);
      await store.createChallenge(challenge('c1', t0), 60_000, { limit: 5, windowMs: 1000 }, t0);
      const locked = await store.attemptChallenge('u1', 'c1', WRONG, { threshold: 1, windowMs: 1000, durationMs: 2000 }, t0);
      expect(locked).toEqual({ status: 'locked', lockedUntil: t0 + 2000, locked: true });
      await store.deleteChallenge('u1', 'c1');
      await store.deleteDevice('u1', 'd1');

      store.sweep(t0 + 1999);
      expect(users(store).get('u1')!.lockedUntil).toBe(t0 + 2000);
      expect(await store.getLock('u1', t0 + 1999)).toBe(t0 + 2000);

      store.sweep(t0 + 2000);
      expect(users(store).has('u1')).toBe(false);
      expect(await store.getLock('u1', t0 + 2000)).toBeNull();
    } finally {
      store.close();
    }
  });

  it('keeps a user who still has devices, and other users untouched', async () => {
    const store = new MemoryMfaStore();
    try {
      const t0 = Date.now();
      expect(await store.insertDevice(device('d1'), 5)).not.toBeNull();
      await store.createChallenge(challenge('c1', t0), 1000, { limit: 5, windowMs: 1000 }, t0);
      await store.createChallenge(challenge('c2', t0, 'u2'), 10_000, { limit: 5, windowMs: 1000 }, t0);
      store.sweep(t0 + 5000);
      expect(users(store).get('u1')!.challenges.size).toBe(0);
      expect(await store.listDevices('u1')).toHaveLength(1);
      expect(users(store).get('u2')!.challenges.has('c2')).toBe(true);
    } finally {
      store.close();
    }
  });

  it('drops an expired ceremony, then the user entry it alone kept', async () => {
    const store = new MemoryMfaStore();
    try {
      const t0 = Date.now();
      await store.saveCeremony({ id: 'w1', userId: 'u1', deviceId: null, purpose: 'signon', challenge: 'Y2hhbGxlbmdl', binding: 'hmac', createdAt: t0, expiresAt: t0 + 500 }, 1000);
      // Kept for its ttl from when it was saved, which is no earlier than t0.
      store.sweep(t0 + 999);
      expect(users(store).has('u1')).toBe(true);
      store.sweep(Date.now() + 1000);
      expect(users(store).has('u1')).toBe(false);
    } finally {
      store.close();
    }
  });

  it('drops an expired trusted browser, then the user entry it alone kept', async () => {
    const store = new MemoryMfaStore();
    try {
      const t0 = Date.now();
      const browser = { id: 'tb1', userId: 'u1', label: 'Firefox on Linux', createdAt: t0, lastUsedAt: t0, expiresAt: t0 + 1000, tokenHash: 'aa'.repeat(32) };
      await store.saveTrustedBrowser(browser);
      await store.saveTrustedBrowser({ ...browser, id: 'tb2', expiresAt: t0 + 2000 });
      store.sweep(t0 + 999);
      expect(users(store).get('u1')!.trusted.size).toBe(2);
      // Dropped at its own expiresAt, not a ttl from when it was saved.
      store.sweep(t0 + 1000);
      expect([...users(store).get('u1')!.trusted.keys()]).toEqual(['tb2']);
      store.sweep(t0 + 2000);
      expect(users(store).has('u1')).toBe(false);
    } finally {
      store.close();
    }
  });

  it('keeps a user who has recovery codes and nothing else', async () => {
    const store = new MemoryMfaStore();
    try {
      await store.replaceRecoveryCodes('u1', ['rc.hmac.1', 'rc.hmac.2']);
      store.sweep(Date.now() + 86_400_000);
      expect(await store.countRecoveryCodes('u1')).toBe(2);
      // Once the last code is used, nothing holds the user.
      for (const hash of ['rc.hmac.1', 'rc.hmac.2']) await store.useRecoveryCode('u1', hash, { threshold: 5, windowMs: 1000, durationMs: 1000 }, Date.now());
      store.sweep(Date.now() + 86_400_000);
      expect(users(store).has('u1')).toBe(false);
    } finally {
      store.close();
    }
  });

  it("runs on its own timer, which does not keep the process alive", () => {
    const store = new MemoryMfaStore();
    try {
      const timer = (store as unknown as { timer: NodeJS.Timeout }).timer;
      expect(timer.hasRef()).toBe(false);
    } finally {
      store.close();
    }
  });

  it('sweeps every sweepIntervalMs until close()', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setInterval', 'clearInterval'] });
    const store = new MemoryMfaStore({ sweepIntervalMs: 1000 });
    const t0 = Date.now();
    await store.createChallenge(challenge('c1', t0), 500, { limit: 5, windowMs: 500 }, t0);
    vi.advanceTimersByTime(999);
    expect(users(store).has('u1')).toBe(true);
    vi.advanceTimersByTime(1);
    expect(users(store).has('u1')).toBe(false);

    store.close();
    const t1 = Date.now();
    await store.createChallenge(challenge('c2', t1), 500, { limit: 5, windowMs: 500 }, t1);
    vi.advanceTimersByTime(5000);
    expect(users(store).get('u1')!.challenges.has('c2')).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });
});
