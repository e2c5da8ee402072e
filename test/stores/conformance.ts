import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CeremonyRecord, ChallengeRecord, MfaStore, NewDeviceRecord, TrustedBrowserRecord } from '../../src/stores/types.js';

const LOCK = { threshold: 4, windowMs: 60_000, durationMs: 120_000 };
const QUOTA = { limit: 3, windowMs: 60_000 };
const HASH_A = 'a1'.repeat(32);
const HASH_B = 'b2'.repeat(32);
// What a TOTP device keeps: a sealed secret, opaque to the store.
const SEALED = 'v1.sealed.7Hq2bXw/opaque+bytes==';
// Recovery codes as the store sees them: opaque hashes, never a code.
const RECOVERY = ['rc.hmac.Q2xZ-1', 'rc.hmac.Q2xZ-2', 'rc.hmac.Q2xZ-3', 'rc.hmac.Q2xZ-4'] as const;
// A WebAuthn credential as a passkey device keeps it: base64url, opaque to the store but for the id.
const CREDENTIAL = { credentialId: 'AbC-_dEf0123456789xyz', publicKey: 'pQECAyYgASFYIB-opaque_key' };

let counter = 0;
function device(userId: string, overrides: Partial<NewDeviceRecord> = {}): NewDeviceRecord {
  counter += 1;
  return {
    id: `dev-${counter}`,
    userId,
    type: 'email',
    data: { email: `user${counter}@example.test` },
    nickname: null,
    status: 'ACTIVE',
    createdAt: 1_000 + counter,
    updatedAt: 1_000 + counter,
    activatedAt: 1_000 + counter,
    activationChallengeId: null,
    ...overrides,
  };
}

function challenge(userId: string, now: number, overrides: Partial<ChallengeRecord> = {}): ChallengeRecord {
  counter += 1;
  return {
    id: `ch-${counter}`,
    userId,
    deviceId: 'dev-x',
    purpose: 'signon',
    deviceStatus: 'ACTIVE',
    hash: HASH_A,
    attempts: 0,
    maxAttempts: 3,
    createdAt: now,
    sentAt: now,
    expiresAt: now + 60_000,
    ...overrides,
  };
}

function ceremony(userId: string, now: number, overrides: Partial<CeremonyRecord> = {}): CeremonyRecord {
  counter += 1;
  return {
    id: `cer-${counter}`,
    userId,
    deviceId: null,
    purpose: 'signon',
    challenge: `Y2hhbGxlbmdl-${counter}_b64url`,
    binding: 'hmac.of.the.session.token',
    createdAt: now,
    expiresAt: now + 60_000,
    ...overrides,
  };
}

function trusted(userId: string, now: number, overrides: Partial<TrustedBrowserRecord> = {}): TrustedBrowserRecord {
  counter += 1;
  return {
    id: `tb-${counter}`,
    userId,
    // Unicode and a slash, as a User-Agent's label may hold: kept as given.
    label: 'Chrome on macOS — «Büro»/2',
    createdAt: now,
    lastUsedAt: now,
    expiresAt: now + 600_000,
    tokenHash: HASH_A,
    ...overrides,
  };
}

/** A passkey device waiting for its registration: no credential yet. */
function pendingPasskey(userId: string, overrides: Partial<NewDeviceRecord> = {}): NewDeviceRecord {
  return device(userId, { type: 'webauthn', status: 'ACTIVATION_REQUIRED', activatedAt: null, activationChallengeId: 'cer-pairing', data: { rpId: 'example.test' }, ...overrides });
}

export interface StoreFixture {
  store: MfaStore;
  cleanup(): Promise<void>;
}

/**
 * One suite for every MfaStore: the same cases and the same results, so the
 * in-memory store is a faithful stand-in for Redis and vice versa.
 */
export function storeConformance(name: string, make: () => Promise<StoreFixture>): void {
  describe(`${name}: store conformance`, () => {
    let fixture: StoreFixture;
    let store: MfaStore;
    let user: string;
    const now = Date.now();

    beforeEach(async () => {
      fixture = await make();
      store = fixture.store;
      user = `user-${++counter}`;
      // Codes count only while the device they were sent to is usable; challenges here go to this one.
      await store.insertDevice(device(user, { id: 'dev-x', createdAt: 1 }), 100);
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    describe('devices', () => {
      it('inserts up to the limit, each last in the order whatever order the caller set, and gets by id', async () => {
        const later = device(user, { createdAt: 20 });
        const earlier = device(user, { createdAt: 10 });
        expect(await store.insertDevice(later, 3)).toEqual({ ...later, order: 1 });
        // An order the caller slips in is not taken: the store places the device.
        const stored = await store.insertDevice({ ...earlier, order: -5 } as NewDeviceRecord, 3);
        expect(stored).toEqual({ ...earlier, order: 2 });
        expect(await store.insertDevice(device(user), 3)).toBeNull();
        // Listed in their order, not by creation.
        expect((await store.listDevices(user)).map((d) => d.id)).toEqual(['dev-x', later.id, earlier.id]);
        expect(await store.getDevice(user, earlier.id)).toEqual(stored);
        expect(await store.getDevice(user, 'nope')).toBeNull();
        expect(await store.getDevice('someone-else', earlier.id)).toBeNull();
        expect(await store.listDevices('someone-else')).toEqual([]);
      });

      it('returns copies: changing a result, or what was inserted, changes nothing stored', async () => {
        const d = device(user);
        const email = d.data.email;
        await store.insertDevice(d, 5);
        const got = (await store.getDevice(user, d.id))!;
        got.status = 'BLOCKED';
        got.data.email = 'changed@example.test';
        d.data.email = 'changed-too@example.test';
        expect(await store.getDevice(user, d.id)).toMatchObject({ status: 'ACTIVE', data: { email } });
      });

      it("keeps the method's data as it was given, whatever JSON it holds, through every change", async () => {
        // What Lua's cjson would mangle: an empty array, a long number, an escaped slash, a null.
        const data = { secret: 'opaque/sealed+value==', transports: [], nested: { list: [1, 'two', { three: null }] }, big: 1234567890123456, text: 'Büro "<x>"' };
        const d = device(user, { type: 'some-method', data });
        await store.insertDevice(d, 5);
        expect((await store.getDevice(user, d.id))!.data).toEqual(data);
        await store.updateDevice(user, d.id, { nickname: 'n', status: 'BLOCKED' });
        await store.orderDevices(user, [d.id, 'dev-x']);
        expect(await store.useTotpStep(user, d.id, 7, 'BLOCKED', LOCK, now)).toEqual({ status: 'ok' });
        expect(await store.useSignatureCounter(user, d.id, 3, 'BLOCKED', now)).toEqual({ status: 'ok' });
        expect((await store.listDevices(user))[0]).toMatchObject({ id: d.id, type: 'some-method', data: { ...data, lastStep: 7, counter: 3, lastUsedAt: now }, nickname: 'n' });
      });

      it('patches a device, keeping unicode and nulls, and answers null for a missing one', async () => {
        const d = (await store.insertDevice(device(user, { status: 'ACTIVATION_REQUIRED', activatedAt: null, activationChallengeId: 'ch' }), 5))!;
        const patched = await store.updateDevice(user, d.id, { status: 'ACTIVE', activatedAt: 5, activationChallengeId: null, nickname: 'Büro "<x>"' });
        expect(patched).toEqual({ ...d, status: 'ACTIVE', activatedAt: 5, activationChallengeId: null, nickname: 'Büro "<x>"' });
        expect(await store.getDevice(user, d.id)).toEqual(patched);
        expect(await store.updateDevice(user, 'missing', { nickname: 'x' })).toBeNull();
      });

      it("orders the user's devices by a permutation of their ids, and refuses anything else, changing nothing", async () => {
        const pending = device(user, { status: 'ACTIVATION_REQUIRED', activatedAt: null });
        const blocked = device(user, { status: 'BLOCKED' });
        const other = device(user);
        for (const d of [pending, blocked, other]) await store.insertDevice(d, 10);
        const ids = async () => (await store.listDevices(user)).map((d) => d.id);
        expect(await ids()).toEqual(['dev-x', pending.id, blocked.id, other.id]);

        const wanted = [pending.id, blocked.id, other.id, 'dev-x'];
        expect(await store.orderDevices(user, wanted)).toBe(true);
        expect((await store.listDevices(user)).map((d) => [d.id, d.order])).toEqual(wanted.map((id, i) => [id, i]));
        // The first ACTIVE device in the order is the default: what callers read from this list.
        expect((await store.listDevices(user)).find((d) => d.status === 'ACTIVE')!.id).toBe(other.id);

        await store.insertDevice(device(user, { id: 'dev-elsewhere', userId: `other-${user}` }), 10);
        for (const refused of [
          [pending.id, blocked.id, other.id], // one left out
          [pending.id, blocked.id, other.id, 'dev-x', 'dev-new'], // one that is not there
          [pending.id, pending.id, other.id, 'dev-x'], // one twice, one left out
          [pending.id, blocked.id, other.id, 'dev-elsewhere'], // another user's
          [],
        ]) {
          expect(await store.orderDevices(user, refused), refused.join()).toBe(false);
          expect(await ids()).toEqual(wanted);
        }
        expect(await store.orderDevices(`other-${user}`, ['dev-x'])).toBe(false);
        expect(await store.orderDevices(`nobody-${user}`, [])).toBe(true);

        // A new device still goes last, one past the highest place.
        const added = await store.insertDevice(device(user), 10);
        expect(added!.order).toBe(4);
        expect(await ids()).toEqual([...wanted, added!.id]);
      });

      it('a reorder racing an insert is refused whole, or the new device lands after it', async () => {
        for (let round = 0; round < 10; round++) {
          const before = (await store.listDevices(user)).map((d) => d.id);
          const reversed = [...before].reverse();
          const fresh = device(user);
          const [ordered] = await Promise.all([store.orderDevices(user, reversed), store.insertDevice(fresh, 100)]);
          const after = (await store.listDevices(user)).map((d) => d.id);
          expect(after).toEqual([...(ordered ? reversed : before), fresh.id]);
        }
      });

      it('deletes a device and returns it once', async () => {
        const d = (await store.insertDevice(device(user), 5))!;
        expect(await store.deleteDevice(user, d.id)).toEqual(d);
        expect(await store.deleteDevice(user, d.id)).toBeNull();
        expect((await store.listDevices(user)).map((x) => x.id)).toEqual(['dev-x']);
      });

      it('keepLastActive keeps the only active device, even under parallel removals', async () => {
        const waiting = (await store.insertDevice(device(user, { status: 'ACTIVATION_REQUIRED', activatedAt: null }), 10))!;
        // dev-x is the only ACTIVE one: kept; a device that is not active goes.
        expect(await store.deleteDevice(user, 'dev-x', { keepLastActive: true })).toBeNull();
        expect(await store.deleteDevice(user, waiting.id, { keepLastActive: true })).toEqual(waiting);
        const second = device(user);
        await store.insertDevice(second, 10);
        const removed = await Promise.all([
          store.deleteDevice(user, 'dev-x', { keepLastActive: true }),
          store.deleteDevice(user, second.id, { keepLastActive: true }),
        ]);
        expect(removed.filter((r) => r !== null)).toHaveLength(1);
        expect((await store.listDevices(user)).filter((d) => d.status === 'ACTIVE')).toHaveLength(1);
      });

      it('counts the limit atomically under parallel inserts', async () => {
        const results = await Promise.all(Array.from({ length: 20 }, () => store.insertDevice(device(user), 6)));
        expect(results.filter(Boolean)).toHaveLength(5);
        const list = await store.listDevices(user);
        expect(list).toHaveLength(6);
        // Each in a place of its own.
        expect(list.map((d) => d.order)).toEqual([0, 1, 2, 3, 4, 5]);
      });
    });

    describe('challenges', () => {
      it('stores a challenge and counts sends against the quota', async () => {
        const c = challenge(user, now);
        expect(await store.createChallenge(c, 60_000, QUOTA, now)).toEqual({ ok: true });
        expect(await store.getChallenge(user, c.id)).toEqual(c);
        expect(await store.getChallenge('someone-else', c.id)).toBeNull();
        await store.createChallenge(challenge(user, now), 60_000, QUOTA, now + 1);
        await store.createChallenge(challenge(user, now), 60_000, QUOTA, now + 2);
        const refused = await store.createChallenge(challenge(user, now), 60_000, QUOTA, now + 1_000);
        expect(refused).toEqual({ ok: false, retryAfterMs: QUOTA.windowMs - 1_000 });
        expect(await store.createChallenge(challenge(user, now), 60_000, QUOTA, now + QUOTA.windowMs)).toEqual({ ok: true });
      });

      it('forgets a challenge after its ttl', async () => {
        const c = challenge(user, Date.now());
        await store.createChallenge(c, 50, QUOTA, Date.now());
        await new Promise((r) => setTimeout(r, 120));
        expect(await store.getChallenge(user, c.id)).toBeNull();
        expect(await store.attemptChallenge(user, c.id, HASH_A, LOCK, Date.now())).toEqual({ status: 'missing' });
      });

      it('accepts the right hash once, then forgets the challenge', async () => {
        const c = challenge(user, now);
        await store.createChallenge(c, 60_000, QUOTA, now);
        const ok = await store.attemptChallenge(user, c.id, HASH_A, LOCK, now);
        expect(ok).toEqual({ status: 'ok', challenge: { ...c, attempts: 1 } });
        // Gone at once: nothing is kept of a used code, and a replay finds nothing.
        expect(await store.getChallenge(user, c.id)).toBeNull();
        expect(await store.attemptChallenge(user, c.id, HASH_A, LOCK, now)).toEqual({ status: 'missing' });
      });

      it('counts wrong tries per code, then answers exhausted even for the right hash', async () => {
        const c = challenge(user, now);
        await store.createChallenge(c, 60_000, QUOTA, now);
        expect(await store.attemptChallenge(user, c.id, HASH_B, { ...LOCK, threshold: 100 }, now)).toEqual({ status: 'invalid', remainingAttempts: 2 });
        expect(await store.attemptChallenge(user, c.id, HASH_B, { ...LOCK, threshold: 100 }, now)).toEqual({ status: 'invalid', remainingAttempts: 1 });
        expect(await store.attemptChallenge(user, c.id, HASH_B, { ...LOCK, threshold: 100 }, now)).toEqual({ status: 'invalid', remainingAttempts: 0 });
        expect(await store.attemptChallenge(user, c.id, HASH_A, { ...LOCK, threshold: 100 }, now)).toEqual({ status: 'exhausted' });
      });

      it('answers expired at expiresAt, without spending a try', async () => {
        const c = challenge(user, now);
        await store.createChallenge(c, 600_000, QUOTA, now);
        expect(await store.attemptChallenge(user, c.id, HASH_A, LOCK, c.expiresAt)).toEqual({ status: 'expired' });
        expect((await store.getChallenge(user, c.id))!.attempts).toBe(0);
      });

      it('locks the user after the threshold of failures, across codes, until the duration ends', async () => {
        const codes = [challenge(user, now, { expiresAt: now + 600_000 }), challenge(user, now, { expiresAt: now + 600_000 })];
        for (const c of codes) await store.createChallenge(c, 600_000, { limit: 10, windowMs: 60_000 }, now);
        await store.attemptChallenge(user, codes[0]!.id, HASH_B, LOCK, now);
        await store.attemptChallenge(user, codes[0]!.id, HASH_B, LOCK, now);
        await store.attemptChallenge(user, codes[1]!.id, HASH_B, LOCK, now);
        const locked = await store.attemptChallenge(user, codes[1]!.id, HASH_B, LOCK, now + 10);
        expect(locked).toEqual({ status: 'locked', lockedUntil: now + 10 + LOCK.durationMs, locked: true });
        expect(await store.getLock(user, now + 20)).toBe(now + 10 + LOCK.durationMs);
        // A locked user is sent no code, new or resent, and nothing is counted against the quota.
        expect(await store.createChallenge(challenge(user, now), 600_000, { limit: 10, windowMs: 60_000 }, now + 20)).toEqual({ ok: false, lockedUntil: now + 10 + LOCK.durationMs });
        expect(await store.replaceChallengeCode(user, codes[0]!.id, { hash: HASH_B, expiresAt: now + 600_000 }, 600_000, { limit: 10, windowMs: 60_000, cooldownMs: 0 }, now + 20)).toEqual({ status: 'locked', lockedUntil: now + 10 + LOCK.durationMs });
        const again = await store.attemptChallenge(user, codes[1]!.id, HASH_A, LOCK, now + 20);
        expect(again).toMatchObject({ status: 'locked', lockedUntil: now + 10 + LOCK.durationMs });
        expect(again.status === 'locked' && again.locked).toBeFalsy();
        expect(await store.getLock(user, now + 10 + LOCK.durationMs)).toBeNull();
        expect(await store.attemptChallenge(user, codes[1]!.id, HASH_A, LOCK, now + 10 + LOCK.durationMs)).toMatchObject({ status: 'ok' });
      });

      it('forgets failures after a success, and after their window', async () => {
        const rule = { threshold: 3, windowMs: 1_000, durationMs: 5_000 };
        const a = challenge(user, now, { maxAttempts: 10 });
        await store.createChallenge(a, 60_000, QUOTA, now);
        await store.attemptChallenge(user, a.id, HASH_B, rule, now);
        await store.attemptChallenge(user, a.id, HASH_B, rule, now);
        expect(await store.attemptChallenge(user, a.id, HASH_B, rule, now + 1_000)).toEqual({ status: 'invalid', remainingAttempts: 7 });
        await store.attemptChallenge(user, a.id, HASH_A, rule, now + 1_001);
        const b = challenge(user, now, { maxAttempts: 10 });
        await store.createChallenge(b, 60_000, QUOTA, now);
        await store.attemptChallenge(user, b.id, HASH_B, rule, now + 1_002);
        expect(await store.attemptChallenge(user, b.id, HASH_B, rule, now + 1_003)).toEqual({ status: 'invalid', remainingAttempts: 8 });
      });

      it("refuses a code whose device was removed, or is not in the challenge's deviceStatus", async () => {
        const c = challenge(user, now);
        await store.createChallenge(c, 60_000, QUOTA, now);
        await store.deleteDevice(user, 'dev-x');
        expect(await store.attemptChallenge(user, c.id, HASH_A, LOCK, now)).toEqual({ status: 'device_gone' });
        expect((await store.getChallenge(user, c.id))!.attempts).toBe(0);

        const pairing = device(user, { status: 'ACTIVATION_REQUIRED' });
        await store.insertDevice(pairing, 100);
        const p = challenge(user, now, { purpose: 'pairing', deviceStatus: 'ACTIVATION_REQUIRED', deviceId: pairing.id });
        const s = challenge(user, now, { purpose: 'signon', deviceStatus: 'ACTIVE', deviceId: pairing.id });
        await store.createChallenge(p, 60_000, QUOTA, now);
        await store.createChallenge(s, 60_000, QUOTA, now);
        expect(await store.attemptChallenge(user, s.id, HASH_A, LOCK, now)).toEqual({ status: 'device_gone' });
        expect(await store.attemptChallenge(user, p.id, HASH_A, LOCK, now)).toMatchObject({ status: 'ok' });

        // The status comes from the record, never from the purpose: the store knows no purpose's rule.
        const active = device(user);
        await store.insertDevice(active, 100);
        const pairingOnActive = challenge(user, now, { purpose: 'pairing', deviceStatus: 'ACTIVATION_REQUIRED', deviceId: active.id });
        const pairingWantsActive = challenge(user, now, { purpose: 'pairing', deviceStatus: 'ACTIVE', deviceId: active.id });
        await store.createChallenge(pairingOnActive, 60_000, { limit: 10, windowMs: 60_000 }, now);
        await store.createChallenge(pairingWantsActive, 60_000, { limit: 10, windowMs: 60_000 }, now);
        expect(await store.attemptChallenge(user, pairingOnActive.id, HASH_A, LOCK, now)).toEqual({ status: 'device_gone' });
        expect(await store.attemptChallenge(user, pairingWantsActive.id, HASH_A, LOCK, now)).toMatchObject({ status: 'ok' });

        const blocked = device(user, { status: 'BLOCKED' });
        await store.insertDevice(blocked, 100);
        const b = challenge(user, now, { deviceId: blocked.id });
        await store.createChallenge(b, 60_000, { limit: 10, windowMs: 60_000 }, now);
        expect(await store.attemptChallenge(user, b.id, HASH_A, LOCK, now)).toEqual({ status: 'device_gone' });
      });

      it('answers missing for an unknown challenge even while the user is locked', async () => {
        const c = challenge(user, now);
        await store.createChallenge(c, 60_000, QUOTA, now);
        const locked = await store.attemptChallenge(user, c.id, HASH_B, { ...LOCK, threshold: 1 }, now);
        expect(locked).toMatchObject({ status: 'locked', locked: true });
        // A forged id must not tell a locked user from one who is not.
        expect(await store.attemptChallenge(user, 'ch-forged', HASH_A, LOCK, now)).toEqual({ status: 'missing' });
        expect(await store.attemptChallenge(user, c.id, HASH_A, LOCK, now)).toMatchObject({ status: 'locked' });
      });

      it("deletes every challenge of one device, and only that device's", async () => {
        await store.insertDevice(device(user, { id: 'dev-y' }), 100);
        const [first, second] = [challenge(user, now), challenge(user, now)];
        const other = challenge(user, now, { deviceId: 'dev-y' });
        for (const c of [first!, second!, other]) await store.createChallenge(c, 60_000, { limit: 10, windowMs: 60_000 }, now);
        await store.deleteDeviceChallenges(user, 'dev-x');
        expect(await store.getChallenge(user, first!.id)).toBeNull();
        expect(await store.getChallenge(user, second!.id)).toBeNull();
        expect(await store.getChallenge(user, other.id)).toEqual(other);
        await store.deleteDeviceChallenges(user, 'dev-x');
        expect(await store.attemptChallenge(user, first!.id, HASH_A, LOCK, now)).toEqual({ status: 'missing' });
      });

      it('clearLock lifts a lock and forgets failures', async () => {
        const c = challenge(user, now, { maxAttempts: 10 });
        await store.createChallenge(c, 60_000, QUOTA, now);
        for (let i = 0; i < LOCK.threshold; i++) await store.attemptChallenge(user, c.id, HASH_B, LOCK, now);
        expect(await store.getLock(user, now)).not.toBeNull();
        await store.clearLock(user);
        expect(await store.getLock(user, now)).toBeNull();
        expect(await store.attemptChallenge(user, c.id, HASH_B, LOCK, now)).toEqual({ status: 'invalid', remainingAttempts: 5 });
      });

      it('replaces a code after the cooldown, within the quota, resetting attempts', async () => {
        const quota = { limit: 3, windowMs: 600_000 };
        const c = challenge(user, now);
        await store.createChallenge(c, 60_000, quota, now);
        await store.attemptChallenge(user, c.id, HASH_B, LOCK, now);
        const rules = { ...quota, cooldownMs: 30_000 };
        expect(await store.replaceChallengeCode(user, c.id, { hash: HASH_B, expiresAt: now + 90_000 }, 60_000, rules, now + 10_000)).toEqual({ status: 'too_soon', retryAfterMs: 20_000 });
        expect(await store.replaceChallengeCode(user, c.id, { hash: HASH_B, expiresAt: now + 90_000 }, 60_000, rules, now + 30_000)).toEqual({ status: 'ok' });
        expect(await store.getChallenge(user, c.id)).toEqual({ ...c, hash: HASH_B, expiresAt: now + 90_000, sentAt: now + 30_000, attempts: 0 });
        expect(await store.attemptChallenge(user, c.id, HASH_A, { ...LOCK, threshold: 100 }, now + 30_001)).toEqual({ status: 'invalid', remainingAttempts: 2 });
        expect(await store.replaceChallengeCode(user, c.id, { hash: HASH_A, expiresAt: now + 90_000 }, 60_000, rules, now + 60_000)).toEqual({ status: 'ok' });
        expect(await store.replaceChallengeCode(user, c.id, { hash: HASH_A, expiresAt: now + 90_000 }, 60_000, rules, now + 90_000)).toEqual({ status: 'quota', retryAfterMs: quota.windowMs - 90_000 });
        expect(await store.replaceChallengeCode(user, 'missing', { hash: HASH_A, expiresAt: 0 }, 60_000, rules, now)).toEqual({ status: 'missing' });
      });

      it('refuses to replace the code of a used challenge', async () => {
        const c = challenge(user, now);
        await store.createChallenge(c, 60_000, QUOTA, now);
        await store.attemptChallenge(user, c.id, HASH_A, LOCK, now);
        expect(await store.replaceChallengeCode(user, c.id, { hash: HASH_B, expiresAt: now + 1 }, 60_000, { ...QUOTA, cooldownMs: 0 }, now + 1)).toEqual({ status: 'missing' });
      });

      it('restores the previous code after an undelivered resend, and lifts the cooldown; deleteChallenge removes it', async () => {
        const c = challenge(user, now);
        await store.createChallenge(c, 60_000, { limit: 10, windowMs: 60_000 }, now);
        await store.attemptChallenge(user, c.id, HASH_B, { ...LOCK, threshold: 100 }, now);
        const rules = { limit: 10, windowMs: 60_000, cooldownMs: 30_000 };
        expect(await store.replaceChallengeCode(user, c.id, { hash: HASH_B, expiresAt: now + 90_000 }, 60_000, rules, now + 30_000)).toEqual({ status: 'ok' });
        await store.restoreChallengeCode(user, c.id, HASH_B, { hash: c.hash, expiresAt: c.expiresAt, attempts: 1 });
        expect(await store.getChallenge(user, c.id)).toEqual({ ...c, attempts: 1, sentAt: 0 });
        // Only the undelivered code is undone: a later resend is left alone.
        expect(await store.replaceChallengeCode(user, c.id, { hash: HASH_B, expiresAt: now + 90_000 }, 60_000, rules, now + 30_001)).toEqual({ status: 'ok' });
        await store.restoreChallengeCode(user, c.id, 'c3'.repeat(32), { hash: HASH_A, expiresAt: 1, attempts: 0 });
        expect((await store.getChallenge(user, c.id))!.hash).toBe(HASH_B);
        await store.deleteChallenge(user, c.id);
        expect(await store.getChallenge(user, c.id)).toBeNull();
        await store.restoreChallengeCode(user, c.id, HASH_B, { hash: HASH_A, expiresAt: 1, attempts: 0 });
        expect(await store.getChallenge(user, c.id)).toBeNull();
      });
    });

    describe('answers that are no stored challenge', () => {
      it('recordFailure counts in the window attemptChallenge counts in, and says which call locked', async () => {
        const c = challenge(user, now, { maxAttempts: 10 });
        await store.createChallenge(c, 600_000, QUOTA, now);
        expect(await store.attemptChallenge(user, c.id, HASH_B, LOCK, now)).toMatchObject({ status: 'invalid' });
        expect(await store.recordFailure(user, LOCK, now)).toEqual({ status: 'counted' });
        expect(await store.recordFailure(user, LOCK, now + 1)).toEqual({ status: 'counted' });
        expect(await store.recordFailure(user, LOCK, now + 2)).toEqual({ status: 'locked', lockedUntil: now + 2 + LOCK.durationMs, locked: true });
        // Refused while locked, and nothing more is counted: the lock is not lengthened.
        expect(await store.recordFailure(user, LOCK, now + 3)).toEqual({ status: 'locked', lockedUntil: now + 2 + LOCK.durationMs, locked: false });
        expect(await store.attemptChallenge(user, c.id, HASH_A, LOCK, now + 3)).toMatchObject({ status: 'locked', lockedUntil: now + 2 + LOCK.durationMs });
        expect(await store.getLock(user, now + 3)).toBe(now + 2 + LOCK.durationMs);
        // Once the lock ends, the count starts over.
        const after = now + 2 + LOCK.durationMs;
        for (let i = 0; i < LOCK.threshold - 1; i++) expect(await store.recordFailure(user, LOCK, after + i)).toEqual({ status: 'counted' });
      });

      it('recordFailure forgets failures after their window, and after clearLock', async () => {
        const rule = { threshold: 3, windowMs: 1_000, durationMs: 5_000 };
        await store.recordFailure(user, rule, now);
        await store.recordFailure(user, rule, now);
        expect(await store.recordFailure(user, rule, now + 1_000)).toEqual({ status: 'counted' });
        await store.recordFailure(user, rule, now + 1_001);
        expect(await store.recordFailure(user, rule, now + 1_002)).toMatchObject({ status: 'locked', locked: true });
        await store.clearLock(user);
        expect(await store.getLock(user, now + 1_003)).toBeNull();
        expect(await store.recordFailure(user, rule, now + 1_003)).toEqual({ status: 'counted' });
      });

      it('a TOTP step answers once per device: a later step passes, the same or an earlier one is replayed', async () => {
        const rule = { ...LOCK, threshold: 100 };
        const totp = device(user, { type: 'totp', data: { secret: SEALED } });
        const other = device(user, { type: 'totp', data: { secret: SEALED } });
        await store.insertDevice(totp, 10);
        await store.insertDevice(other, 10);
        expect(await store.useTotpStep(user, totp.id, 56_000_000, 'ACTIVE', rule, now)).toEqual({ status: 'ok' });
        expect((await store.getDevice(user, totp.id))!.data).toEqual({ secret: SEALED, lastStep: 56_000_000 });
        expect(await store.useTotpStep(user, totp.id, 56_000_000, 'ACTIVE', rule, now)).toEqual({ status: 'replayed' });
        expect(await store.useTotpStep(user, totp.id, 55_999_999, 'ACTIVE', rule, now)).toEqual({ status: 'replayed' });
        expect((await store.getDevice(user, totp.id))!.data.lastStep).toBe(56_000_000);
        expect(await store.useTotpStep(user, totp.id, 56_000_001, 'ACTIVE', rule, now)).toEqual({ status: 'ok' });
        // Each device keeps its own last step.
        expect(await store.useTotpStep(user, other.id, 56_000_000, 'ACTIVE', rule, now)).toEqual({ status: 'ok' });
        expect((await store.getDevice(user, totp.id))!.data).toEqual({ secret: SEALED, lastStep: 56_000_001 });
      });

      it('a TOTP step counts only on a device in the status the caller names', async () => {
        const rule = { ...LOCK, threshold: 100 };
        const pending = device(user, { type: 'totp', status: 'ACTIVATION_REQUIRED', data: { secret: SEALED } });
        const blocked = device(user, { type: 'totp', status: 'BLOCKED', data: { secret: SEALED } });
        await store.insertDevice(pending, 10);
        await store.insertDevice(blocked, 10);
        expect(await store.useTotpStep(user, pending.id, 1, 'ACTIVE', rule, now)).toEqual({ status: 'device_gone' });
        expect(await store.useTotpStep(user, pending.id, 1, 'ACTIVATION_REQUIRED', rule, now)).toEqual({ status: 'ok' });
        expect(await store.useTotpStep(user, blocked.id, 1, 'ACTIVE', rule, now)).toEqual({ status: 'device_gone' });
        expect(await store.useTotpStep(user, 'missing', 1, 'ACTIVE', rule, now)).toEqual({ status: 'device_gone' });
        expect(await store.useTotpStep(`other-${user}`, pending.id, 2, 'ACTIVATION_REQUIRED', rule, now)).toEqual({ status: 'device_gone' });
        // A refusal spends no step.
        expect((await store.getDevice(user, blocked.id))!.data).toEqual({ secret: SEALED });
      });

      it('a replayed step counts as a failure, shared with wrong codes, locks at the threshold, and a used step forgets them', async () => {
        const totp = device(user, { type: 'totp', data: { secret: SEALED, lastStep: 100 } });
        await store.insertDevice(totp, 10);
        expect(await store.recordFailure(user, LOCK, now)).toEqual({ status: 'counted' });
        expect(await store.useTotpStep(user, totp.id, 100, 'ACTIVE', LOCK, now)).toEqual({ status: 'replayed' });
        // A used step forgets the failures counted so far.
        expect(await store.useTotpStep(user, totp.id, 101, 'ACTIVE', LOCK, now)).toEqual({ status: 'ok' });
        for (let i = 0; i < LOCK.threshold - 1; i++) expect(await store.useTotpStep(user, totp.id, 101, 'ACTIVE', LOCK, now)).toEqual({ status: 'replayed' });
        expect(await store.useTotpStep(user, totp.id, 90, 'ACTIVE', LOCK, now + 5)).toEqual({ status: 'locked', lockedUntil: now + 5 + LOCK.durationMs, locked: true });
        // Locked: even a fresh step is refused, and not spent.
        expect(await store.useTotpStep(user, totp.id, 102, 'ACTIVE', LOCK, now + 6)).toEqual({ status: 'locked', lockedUntil: now + 5 + LOCK.durationMs, locked: false });
        expect((await store.getDevice(user, totp.id))!.data.lastStep).toBe(101);
        expect(await store.useTotpStep(user, totp.id, 102, 'ACTIVE', LOCK, now + 5 + LOCK.durationMs)).toEqual({ status: 'ok' });
      });
    });

    describe('recovery codes', () => {
      const [R1, R2, R3, R4] = RECOVERY;

      it('replaces the whole set, counts what is left, and each hash answers once', async () => {
        expect(await store.countRecoveryCodes(user)).toBe(0);
        await store.replaceRecoveryCodes(user, [R1, R2, R3]);
        expect(await store.countRecoveryCodes(user)).toBe(3);
        expect(await store.useRecoveryCode(user, R2, LOCK, now)).toEqual({ status: 'ok', remaining: 2 });
        expect(await store.useRecoveryCode(user, R2, LOCK, now)).toEqual({ status: 'invalid' });
        expect(await store.countRecoveryCodes(user)).toBe(2);
        // Another user's codes are their own.
        expect(await store.useRecoveryCode(`other-${user}`, R1, LOCK, now)).toEqual({ status: 'invalid' });
        expect(await store.countRecoveryCodes(`other-${user}`)).toBe(0);

        // A new set voids the old one at once, unused codes and all.
        await store.replaceRecoveryCodes(user, [R4, R4]);
        expect(await store.countRecoveryCodes(user)).toBe(1);
        expect(await store.useRecoveryCode(user, R1, LOCK, now)).toEqual({ status: 'invalid' });
        expect(await store.useRecoveryCode(user, R4, LOCK, now)).toEqual({ status: 'ok', remaining: 0 });
        expect(await store.countRecoveryCodes(user)).toBe(0);
        await store.replaceRecoveryCodes(user, [R3]);
        await store.replaceRecoveryCodes(user, []);
        expect(await store.countRecoveryCodes(user)).toBe(0);
        expect(await store.useRecoveryCode(user, R3, LOCK, now)).toEqual({ status: 'invalid' });
      });

      it('matches the whole hash only: a prefix, a longer string or another case is a miss', async () => {
        const rule = { ...LOCK, threshold: 100 };
        await store.replaceRecoveryCodes(user, [HASH_A]);
        for (const near of [HASH_A.slice(0, -2), `${HASH_A}00`, HASH_A.toUpperCase(), `${HASH_A.slice(0, -1)}2`, '']) {
          expect(await store.useRecoveryCode(user, near, rule, now), near).toEqual({ status: 'invalid' });
        }
        expect(await store.useRecoveryCode(user, HASH_A, rule, now)).toEqual({ status: 'ok', remaining: 0 });
      });

      it('a miss counts a failure, shared with wrong codes, and locks; a match forgets them; nothing is used while locked', async () => {
        await store.replaceRecoveryCodes(user, [R1, R2]);
        expect(await store.recordFailure(user, LOCK, now)).toEqual({ status: 'counted' });
        expect(await store.useRecoveryCode(user, R3, LOCK, now)).toEqual({ status: 'invalid' });
        expect(await store.useRecoveryCode(user, R1, LOCK, now)).toEqual({ status: 'ok', remaining: 1 });
        for (let i = 0; i < LOCK.threshold - 1; i++) expect(await store.useRecoveryCode(user, R3, LOCK, now)).toEqual({ status: 'invalid' });
        expect(await store.useRecoveryCode(user, R3, LOCK, now + 5)).toEqual({ status: 'locked', lockedUntil: now + 5 + LOCK.durationMs, locked: true });
        expect(await store.useRecoveryCode(user, R2, LOCK, now + 6)).toEqual({ status: 'locked', lockedUntil: now + 5 + LOCK.durationMs, locked: false });
        expect(await store.countRecoveryCodes(user)).toBe(1);
        expect(await store.useRecoveryCode(user, R2, LOCK, now + 5 + LOCK.durationMs)).toEqual({ status: 'ok', remaining: 0 });
      });
    });

    describe('WebAuthn ceremonies', () => {
      it('takes a ceremony once, as it was saved, and only for its own user', async () => {
        const any = ceremony(user, now);
        const registration = ceremony(user, now, { deviceId: 'dev-x', purpose: 'pairing' });
        await store.saveCeremony(any, 60_000);
        await store.saveCeremony(registration, 60_000);
        const saved = { ...any };
        // What was saved is a copy: changing the caller's object changes nothing stored.
        any.challenge = 'changed';
        // Another user's take finds nothing, and does not consume it.
        expect(await store.takeCeremony(`other-${user}`, any.id, now)).toBeNull();
        expect(await store.takeCeremony(user, any.id, now)).toEqual(saved);
        expect(await store.takeCeremony(user, any.id, now)).toBeNull();
        expect(await store.takeCeremony(user, registration.id, now + 1)).toEqual(registration);
        expect(await store.takeCeremony(user, registration.id, now + 1)).toBeNull();
        expect(await store.takeCeremony(user, 'cer-forged', now)).toBeNull();
      });

      it('an expired ceremony answers null, and is taken all the same', async () => {
        const c = ceremony(user, now);
        await store.saveCeremony(c, 600_000);
        expect(await store.takeCeremony(user, c.id, c.expiresAt)).toBeNull();
        expect(await store.takeCeremony(user, c.id, now)).toBeNull();
      });

      it('forgets a ceremony after its ttl', async () => {
        const c = ceremony(user, Date.now(), { expiresAt: Date.now() + 60_000 });
        await store.saveCeremony(c, 50);
        await new Promise((r) => setTimeout(r, 120));
        expect(await store.takeCeremony(user, c.id, Date.now())).toBeNull();
      });

      it("deleteDeviceChallenges removes the device's ceremonies, not another device's nor one for any passkey", async () => {
        const mine = ceremony(user, now, { deviceId: 'dev-x' });
        const other = ceremony(user, now, { deviceId: 'dev-y' });
        const any = ceremony(user, now);
        for (const c of [mine, other, any]) await store.saveCeremony(c, 60_000);
        await store.deleteDeviceChallenges(user, 'dev-x');
        expect(await store.takeCeremony(user, mine.id, now)).toBeNull();
        expect(await store.takeCeremony(user, other.id, now)).toEqual(other);
        expect(await store.takeCeremony(user, any.id, now)).toEqual(any);
      });
    });

    describe('WebAuthn signature counters', () => {
      it('a counter must move forward; two zeros mean an authenticator that keeps none', async () => {
        const passkey = device(user, { type: 'webauthn', data: { ...CREDENTIAL, counter: 0 } });
        await store.insertDevice(passkey, 10);
        for (let i = 0; i < 3; i++) expect(await store.useSignatureCounter(user, passkey.id, 0, 'ACTIVE', now + i)).toEqual({ status: 'ok' });
        expect((await store.getDevice(user, passkey.id))!.data).toEqual({ ...CREDENTIAL, counter: 0, lastUsedAt: now + 2 });
        expect(await store.useSignatureCounter(user, passkey.id, 5, 'ACTIVE', now + 3)).toEqual({ status: 'ok' });
        expect(await store.useSignatureCounter(user, passkey.id, 6, 'ACTIVE', now + 4)).toEqual({ status: 'ok' });
        for (const stale of [6, 4, 0]) expect(await store.useSignatureCounter(user, passkey.id, stale, 'ACTIVE', now + 5), String(stale)).toEqual({ status: 'cloned' });
        // A refusal changes nothing: neither the counter nor when the device was last used.
        expect((await store.getDevice(user, passkey.id))!.data).toEqual({ ...CREDENTIAL, counter: 6, lastUsedAt: now + 4 });

        // No counter stored counts as 0.
        const fresh = device(user, { type: 'webauthn', data: { ...CREDENTIAL } });
        await store.insertDevice(fresh, 10);
        expect(await store.useSignatureCounter(user, fresh.id, 0, 'ACTIVE', now)).toEqual({ status: 'ok' });
        expect(await store.useSignatureCounter(user, fresh.id, 1, 'ACTIVE', now)).toEqual({ status: 'ok' });
        expect((await store.getDevice(user, fresh.id))!.data.counter).toBe(1);
      });

      it('a counter counts only on a device of that user in the status the caller names', async () => {
        const pending = pendingPasskey(user, { data: { ...CREDENTIAL, counter: 1 } });
        const blocked = device(user, { type: 'webauthn', status: 'BLOCKED', data: { ...CREDENTIAL, counter: 1 } });
        await store.insertDevice(pending, 10);
        await store.insertDevice(blocked, 10);
        expect(await store.useSignatureCounter(user, pending.id, 2, 'ACTIVE', now)).toEqual({ status: 'device_gone' });
        expect(await store.useSignatureCounter(user, blocked.id, 2, 'ACTIVE', now)).toEqual({ status: 'device_gone' });
        expect(await store.useSignatureCounter(user, 'missing', 2, 'ACTIVE', now)).toEqual({ status: 'device_gone' });
        expect(await store.useSignatureCounter(`other-${user}`, pending.id, 2, 'ACTIVATION_REQUIRED', now)).toEqual({ status: 'device_gone' });
        expect((await store.getDevice(user, pending.id))!.data).toEqual({ ...CREDENTIAL, counter: 1 });
        expect((await store.getDevice(user, blocked.id))!.data).toEqual({ ...CREDENTIAL, counter: 1 });
        expect(await store.useSignatureCounter(user, pending.id, 2, 'ACTIVATION_REQUIRED', now)).toEqual({ status: 'ok' });
      });
    });

    describe('WebAuthn credential activation', () => {
      it('activates a device waiting for activation with its credential, keeping the data it was not given', async () => {
        const pending = (await store.insertDevice(pendingPasskey(user, { data: { rpId: 'example.test', note: 'kept', aaguid: 'old' } }), 10))!;
        // What Lua's cjson would mangle, given at activation: an empty array, a long number, a nested null.
        const given = { ...CREDENTIAL, counter: 0, aaguid: 'new', transports: [], big: 1234567890123456, nested: { list: [1, { two: null }] } };
        const activated = await store.activateCredential(user, pending.id, given, now + 5);
        const expected = {
          ...pending,
          status: 'ACTIVE',
          activatedAt: now + 5,
          updatedAt: now + 5,
          activationChallengeId: null,
          data: { rpId: 'example.test', note: 'kept', ...given },
        };
        expect(activated).toEqual({ status: 'ok', device: expected });
        expect(await store.getDevice(user, pending.id)).toEqual(expected);
        // The activated device's counter is the one given, and the data survives the counter's step too.
        expect(await store.useSignatureCounter(user, pending.id, 0, 'ACTIVE', now + 6)).toEqual({ status: 'ok' });
        expect((await store.getDevice(user, pending.id))!.data).toEqual({ ...expected.data, lastUsedAt: now + 6 });
        // Active now: a second activation finds no device waiting.
        expect(await store.activateCredential(user, pending.id, { ...CREDENTIAL, credentialId: 'another' }, now + 7)).toEqual({ status: 'device_gone' });
        expect(await store.activateCredential(user, 'missing', { credentialId: 'another' }, now)).toEqual({ status: 'device_gone' });
        expect(await store.activateCredential(`other-${user}`, pending.id, { credentialId: 'another' }, now)).toEqual({ status: 'device_gone' });
        expect((await store.getDevice(user, pending.id))!.data.credentialId).toBe(CREDENTIAL.credentialId);
      });

      it('a credential id is unique among the devices of one user, whatever their status, and only of that user', async () => {
        const first = pendingPasskey(user);
        const second = pendingPasskey(user);
        for (const d of [first, second]) await store.insertDevice(d, 10);
        expect(await store.activateCredential(user, first.id, { ...CREDENTIAL, counter: 0 }, now)).toMatchObject({ status: 'ok' });
        await store.updateDevice(user, first.id, { status: 'BLOCKED' });
        expect(await store.activateCredential(user, second.id, { ...CREDENTIAL, counter: 0 }, now)).toEqual({ status: 'duplicate' });
        expect(await store.getDevice(user, second.id)).toMatchObject({ status: 'ACTIVATION_REQUIRED', activatedAt: null, activationChallengeId: 'cer-pairing', data: { rpId: 'example.test' } });
        // Another credential of the same user is welcome.
        expect(await store.activateCredential(user, second.id, { ...CREDENTIAL, credentialId: 'other-credential', counter: 0 }, now)).toMatchObject({ status: 'ok' });

        // Another user may hold the same credential id.
        const elsewhere = pendingPasskey(`other-${user}`);
        await store.insertDevice(elsewhere, 10);
        expect(await store.activateCredential(`other-${user}`, elsewhere.id, { ...CREDENTIAL, counter: 0 }, now)).toMatchObject({ status: 'ok' });

        // A credential id a device was inserted with counts too.
        const inserted = device(user, { type: 'webauthn', data: { credentialId: 'inserted-credential' } });
        const third = pendingPasskey(user);
        for (const d of [inserted, third]) await store.insertDevice(d, 10);
        expect(await store.activateCredential(user, third.id, { credentialId: 'inserted-credential' }, now)).toEqual({ status: 'duplicate' });
      });
    });

    describe('trusted browsers', () => {
      it('lists copies of the unexpired ones, most recently used first, only for their own user', async () => {
        const older = trusted(user, now, { lastUsedAt: now - 5_000 });
        const newer = trusted(user, now, { lastUsedAt: now - 1_000 });
        const expired = trusted(user, now, { lastUsedAt: now, expiresAt: now + 10 });
        for (const b of [older, expired, newer]) await store.saveTrustedBrowser(b);
        const saved = { ...newer };
        // What was saved is a copy: changing the caller's object changes nothing stored.
        newer.label = 'changed';
        expect(await store.listTrustedBrowsers(user, now + 10)).toEqual([saved, older]);
        const listed = await store.listTrustedBrowsers(user, now + 10);
        // And what was listed is one too.
        listed[0]!.tokenHash = HASH_B;
        expect((await store.listTrustedBrowsers(user, now + 10))[0]).toEqual(saved);
        expect(await store.listTrustedBrowsers(`other-${user}`, now)).toEqual([]);
        expect(await store.listTrustedBrowsers(`never-${user}`, now)).toEqual([]);
      });

      it('a use with the current token rotates it; the old token afterwards is a replay, and forgets the browser', async () => {
        const b = trusted(user, now);
        await store.saveTrustedBrowser(b);
        const used = await store.useTrustedBrowser(user, b.id, HASH_A, HASH_B, now + 1_000);
        expect(used).toEqual({ status: 'ok', browser: { ...b, tokenHash: HASH_B, lastUsedAt: now + 1_000 } });
        expect(await store.listTrustedBrowsers(user, now + 1_000)).toEqual([{ ...b, tokenHash: HASH_B, lastUsedAt: now + 1_000 }]);
        // The old cookie, a copy: neither it nor the current one is trusted any more.
        expect(await store.useTrustedBrowser(user, b.id, HASH_A, 'c3'.repeat(32), now + 2_000)).toEqual({ status: 'replayed' });
        expect(await store.listTrustedBrowsers(user, now + 2_000)).toEqual([]);
        expect(await store.useTrustedBrowser(user, b.id, HASH_B, 'c3'.repeat(32), now + 3_000)).toEqual({ status: 'missing' });
      });

      it('matches the whole token hash only: a prefix or another case is a replay', async () => {
        const prefix = trusted(user, now);
        const upper = trusted(user, now);
        for (const b of [prefix, upper]) await store.saveTrustedBrowser(b);
        expect(await store.useTrustedBrowser(user, prefix.id, HASH_A.slice(0, -1), HASH_B, now)).toEqual({ status: 'replayed' });
        expect(await store.useTrustedBrowser(user, upper.id, HASH_A.toUpperCase(), HASH_B, now)).toEqual({ status: 'replayed' });
        expect(await store.listTrustedBrowsers(user, now)).toEqual([]);
      });

      it("another user's use answers missing and consumes nothing; so does an unknown id", async () => {
        const b = trusted(user, now);
        await store.saveTrustedBrowser(b);
        expect(await store.useTrustedBrowser(`other-${user}`, b.id, HASH_A, HASH_B, now)).toEqual({ status: 'missing' });
        expect(await store.useTrustedBrowser(`other-${user}`, b.id, HASH_B, HASH_A, now)).toEqual({ status: 'missing' });
        expect(await store.useTrustedBrowser(user, 'tb-forged', HASH_A, HASH_B, now)).toEqual({ status: 'missing' });
        expect(await store.listTrustedBrowsers(user, now)).toEqual([b]);
        expect((await store.useTrustedBrowser(user, b.id, HASH_A, HASH_B, now)).status).toBe('ok');
      });

      it('an expired one answers missing at its expiresAt, whatever the token, and is not listed', async () => {
        const b = trusted(user, now);
        await store.saveTrustedBrowser(b);
        expect(await store.listTrustedBrowsers(user, b.expiresAt)).toEqual([]);
        expect(await store.useTrustedBrowser(user, b.id, HASH_B, HASH_A, b.expiresAt)).toEqual({ status: 'missing' });
        expect(await store.useTrustedBrowser(user, b.id, HASH_A, HASH_B, b.expiresAt)).toEqual({ status: 'missing' });
      });

      it('forgets one at its expiresAt in real time (its TTL)', async () => {
        const b = trusted(user, Date.now(), { expiresAt: Date.now() + 50 });
        await store.saveTrustedBrowser(b);
        await new Promise((r) => setTimeout(r, 120));
        expect(await store.deleteTrustedBrowser(user, b.id)).toBe(false);
        expect(await store.deleteTrustedBrowsers(user)).toBe(0);
      });

      it('a save of the same id replaces it', async () => {
        const b = trusted(user, now);
        await store.saveTrustedBrowser(b);
        await store.saveTrustedBrowser({ ...b, label: 'Firefox on Linux', tokenHash: HASH_B });
        expect(await store.listTrustedBrowsers(user, now)).toEqual([{ ...b, label: 'Firefox on Linux', tokenHash: HASH_B }]);
      });

      it('deletes one, saying whether it was there, and only that one', async () => {
        const [a, b] = [trusted(user, now), trusted(user, now, { lastUsedAt: now - 1 })];
        for (const x of [a, b]) await store.saveTrustedBrowser(x);
        expect(await store.deleteTrustedBrowser(`other-${user}`, a.id)).toBe(false);
        expect(await store.deleteTrustedBrowser(user, a.id)).toBe(true);
        expect(await store.deleteTrustedBrowser(user, a.id)).toBe(false);
        expect(await store.listTrustedBrowsers(user, now)).toEqual([b]);
        expect(await store.useTrustedBrowser(user, a.id, HASH_A, HASH_B, now)).toEqual({ status: 'missing' });
      });

      it("deletes every one of the user's, counting them, and no other user's", async () => {
        const others = trusted(`other-${user}`, now);
        await store.saveTrustedBrowser(others);
        for (let i = 0; i < 3; i++) await store.saveTrustedBrowser(trusted(user, now));
        expect(await store.deleteTrustedBrowsers(user)).toBe(3);
        expect(await store.listTrustedBrowsers(user, now)).toEqual([]);
        expect(await store.deleteTrustedBrowsers(user)).toBe(0);
        expect(await store.listTrustedBrowsers(`other-${user}`, now)).toEqual([others]);
        // Trusting again afterwards works as the first time.
        const again = trusted(user, now);
        await store.saveTrustedBrowser(again);
        expect(await store.listTrustedBrowsers(user, now)).toEqual([again]);
      });
    });

    describe('under a burst of parallel requests', () => {
      it('20 parallel uses of one trusted browser token: exactly one ok, the rest find it replayed or gone', async () => {
        const b = trusted(user, now);
        await store.saveTrustedBrowser(b);
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.useTrustedBrowser(user, b.id, HASH_A, `next-${i}`, now)));
        const ok = results.filter((r) => r.status === 'ok');
        expect(ok).toHaveLength(1);
        expect(results.filter((r) => r.status === 'replayed' || r.status === 'missing')).toHaveLength(19);
        // The first other use saw a token no longer current: a replay, which forgets the browser.
        expect(results.filter((r) => r.status === 'replayed').length).toBeGreaterThanOrEqual(1);
        expect(await store.listTrustedBrowsers(user, now)).toEqual([]);
      });

      it('parallel deletes of all count each trusted browser once', async () => {
        for (let i = 0; i < 5; i++) await store.saveTrustedBrowser(trusted(user, now));
        const counts = await Promise.all(Array.from({ length: 10 }, () => store.deleteTrustedBrowsers(user)));
        expect(counts.reduce((a, b) => a + b, 0)).toBe(5);
      });

      it('50 parallel right answers: exactly one succeeds', async () => {
        const c = challenge(user, now, { maxAttempts: 100 });
        await store.createChallenge(c, 60_000, QUOTA, now);
        const results = await Promise.all(Array.from({ length: 50 }, () => store.attemptChallenge(user, c.id, HASH_A, LOCK, now)));
        expect(results.filter((r) => r.status === 'ok')).toHaveLength(1);
        expect(results.filter((r) => r.status === 'missing')).toHaveLength(49);
      });

      it('50 parallel wrong guesses against 3 tries: 3 are evaluated, the rest refused', async () => {
        const c = challenge(user, now);
        await store.createChallenge(c, 60_000, QUOTA, now);
        const rule = { ...LOCK, threshold: 1_000 };
        const results = await Promise.all(Array.from({ length: 50 }, () => store.attemptChallenge(user, c.id, HASH_B, rule, now)));
        expect(results.filter((r) => r.status === 'invalid')).toHaveLength(3);
        expect(results.filter((r) => r.status === 'exhausted')).toHaveLength(47);
        expect((await store.getChallenge(user, c.id))!.attempts).toBe(3);
      });

      it('50 parallel wrong guesses lock the user exactly once', async () => {
        const codes = Array.from({ length: 10 }, () => challenge(user, now, { maxAttempts: 5 }));
        for (const c of codes) await store.createChallenge(c, 60_000, { limit: 100, windowMs: 60_000 }, now);
        const results = await Promise.all(codes.flatMap((c) => Array.from({ length: 5 }, () => store.attemptChallenge(user, c.id, HASH_B, LOCK, now))));
        expect(results.filter((r) => r.status === 'invalid')).toHaveLength(LOCK.threshold - 1);
        expect(results.filter((r) => r.status === 'locked' && r.locked)).toHaveLength(1);
        expect(results.filter((r) => r.status === 'locked')).toHaveLength(50 - LOCK.threshold + 1);
      });

      it('20 parallel uses of one TOTP step: exactly one ok', async () => {
        const totp = device(user, { type: 'totp', data: { secret: SEALED, lastStep: 9 } });
        await store.insertDevice(totp, 10);
        const rule = { ...LOCK, threshold: 1_000 };
        const results = await Promise.all(Array.from({ length: 20 }, () => store.useTotpStep(user, totp.id, 10, 'ACTIVE', rule, now)));
        expect(results.filter((r) => r.status === 'ok')).toHaveLength(1);
        expect(results.filter((r) => r.status === 'replayed')).toHaveLength(19);
        expect((await store.getDevice(user, totp.id))!.data.lastStep).toBe(10);
      });

      it('50 parallel replays lock the user exactly once', async () => {
        const totp = device(user, { type: 'totp', data: { secret: SEALED, lastStep: 9 } });
        await store.insertDevice(totp, 10);
        const results = await Promise.all(Array.from({ length: 50 }, () => store.useTotpStep(user, totp.id, 9, 'ACTIVE', LOCK, now)));
        expect(results.filter((r) => r.status === 'replayed')).toHaveLength(LOCK.threshold - 1);
        expect(results.filter((r) => r.status === 'locked' && r.locked)).toHaveLength(1);
        expect(results.filter((r) => r.status === 'locked')).toHaveLength(50 - LOCK.threshold + 1);
      });

      it('20 parallel takes of one ceremony: exactly one gets it', async () => {
        const c = ceremony(user, now, { deviceId: 'dev-x' });
        await store.saveCeremony(c, 60_000);
        const results = await Promise.all(Array.from({ length: 20 }, () => store.takeCeremony(user, c.id, now)));
        expect(results.filter((r) => r !== null)).toEqual([c]);
      });

      it('20 parallel assertions with one counter: exactly one ok', async () => {
        const passkey = device(user, { type: 'webauthn', data: { ...CREDENTIAL, counter: 9 } });
        await store.insertDevice(passkey, 10);
        const results = await Promise.all(Array.from({ length: 20 }, () => store.useSignatureCounter(user, passkey.id, 10, 'ACTIVE', now)));
        expect(results.filter((r) => r.status === 'ok')).toHaveLength(1);
        expect(results.filter((r) => r.status === 'cloned')).toHaveLength(19);
        expect((await store.getDevice(user, passkey.id))!.data.counter).toBe(10);
      });

      it('two parallel registrations of one authenticator: exactly one lands', async () => {
        const devices = [pendingPasskey(user), pendingPasskey(user)];
        for (const d of devices) await store.insertDevice(d, 10);
        const results = await Promise.all(devices.map((d) => store.activateCredential(user, d.id, { ...CREDENTIAL, counter: 0 }, now)));
        expect(results.map((r) => r.status).sort()).toEqual(['duplicate', 'ok']);
        const holders = (await store.listDevices(user)).filter((d) => d.data.credentialId === CREDENTIAL.credentialId);
        expect(holders).toHaveLength(1);
        expect(holders[0]!.status).toBe('ACTIVE');
      });

      it('50 parallel uses of one recovery code: exactly one ok', async () => {
        await store.replaceRecoveryCodes(user, [...RECOVERY]);
        const rule = { ...LOCK, threshold: 1_000 };
        const results = await Promise.all(Array.from({ length: 50 }, () => store.useRecoveryCode(user, RECOVERY[0], rule, now)));
        expect(results.filter((r) => r.status === 'ok')).toEqual([{ status: 'ok', remaining: RECOVERY.length - 1 }]);
        expect(results.filter((r) => r.status === 'invalid')).toHaveLength(49);
        expect(await store.countRecoveryCodes(user)).toBe(RECOVERY.length - 1);
      });

      it('50 parallel wrong recovery codes lock the user exactly once', async () => {
        await store.replaceRecoveryCodes(user, [RECOVERY[0]]);
        const results = await Promise.all(Array.from({ length: 50 }, () => store.useRecoveryCode(user, RECOVERY[1], LOCK, now)));
        expect(results.filter((r) => r.status === 'invalid')).toHaveLength(LOCK.threshold - 1);
        expect(results.filter((r) => r.status === 'locked' && r.locked)).toHaveLength(1);
        expect(results.filter((r) => r.status === 'locked')).toHaveLength(50 - LOCK.threshold + 1);
        expect(await store.countRecoveryCodes(user)).toBe(1);
      });

      it('50 parallel recordFailure calls lock the user exactly once', async () => {
        const results = await Promise.all(Array.from({ length: 50 }, () => store.recordFailure(user, LOCK, now)));
        expect(results.filter((r) => r.status === 'counted')).toHaveLength(LOCK.threshold - 1);
        expect(results.filter((r) => r.status === 'locked' && r.locked)).toHaveLength(1);
        expect(results.filter((r) => r.status === 'locked' && !r.locked)).toHaveLength(50 - LOCK.threshold);
        expect(await store.getLock(user, now)).toBe(now + LOCK.durationMs);
      });

      it('a verify racing a resend never accepts the old code once the new one is stored', async () => {
        for (let round = 0; round < 10; round++) {
          const c = challenge(user, now, { maxAttempts: 100 });
          await store.createChallenge(c, 60_000, { limit: 100, windowMs: 60_000 }, now);
          const rules = { limit: 100, windowMs: 60_000, cooldownMs: 0 };
          const [replaced, ...attempts] = await Promise.all([
            store.replaceChallengeCode(user, c.id, { hash: HASH_B, expiresAt: now + 60_000 }, 60_000, rules, now + 1),
            ...Array.from({ length: 10 }, () => store.attemptChallenge(user, c.id, HASH_A, { ...LOCK, threshold: 1_000 }, now + 1)),
          ]);
          const oldAccepted = attempts.some((a) => a.status === 'ok');
          // Either the old code won before the resend (which then finds it gone), or the resend won and the old code never works.
          expect(oldAccepted).toBe(replaced.status === 'missing');
          const after = await store.attemptChallenge(user, c.id, HASH_A, { ...LOCK, threshold: 1_000 }, now + 2);
          expect(after.status === 'ok').toBe(false);
        }
      });

      it('parallel sends never exceed the quota', async () => {
        const results = await Promise.all(Array.from({ length: 30 }, () => store.createChallenge(challenge(user, now), 60_000, QUOTA, now)));
        expect(results.filter((r) => r.ok)).toHaveLength(QUOTA.limit);
      });

      it('parallel uses of a shared quota never exceed it', async () => {
        const key = `recipient-${user}`;
        const results = await Promise.all(Array.from({ length: 30 }, () => store.consumeQuota('test', key, QUOTA, now)));
        expect(results.filter((r) => r.ok)).toHaveLength(QUOTA.limit);
      });

      it('50 parallel hits of one key: each of the counts 1 to 50 is seen exactly once', async () => {
        const key = `address-${user}`;
        const counts = await Promise.all(Array.from({ length: 50 }, () => store.hit('test', key, 1, 60_000, now)));
        expect(counts.map((c) => c.hits).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
        expect(new Set(counts.map((c) => c.resetAt))).toEqual(new Set([now + 60_000]));
      });

      it('parallel first reads of a security stamp all see one stamp', async () => {
        const stamps = await Promise.all(Array.from({ length: 20 }, (_, i) => store.getStamp(user, `candidate-${i}`)));
        expect(new Set(stamps).size).toBe(1);
      });
    });

    describe('shared quotas', () => {
      it('counts per scope and key within the window, then starts a new window', async () => {
        const key = `someone-${user}@example.test`;
        for (let i = 0; i < QUOTA.limit; i++) expect(await store.consumeQuota('recipient', key, QUOTA, now + i)).toEqual({ ok: true });
        expect(await store.consumeQuota('recipient', key, QUOTA, now + 1_000)).toEqual({ ok: false, retryAfterMs: QUOTA.windowMs - 1_000 });
        // Another key, or the same key in another scope, has its own count.
        expect(await store.consumeQuota('recipient', `other-${key}`, QUOTA, now + 1_000)).toEqual({ ok: true });
        expect(await store.consumeQuota('elsewhere', key, QUOTA, now + 1_000)).toEqual({ ok: true });
        expect(await store.consumeQuota('recipient', key, QUOTA, now + QUOTA.windowMs)).toEqual({ ok: true });
      });
    });

    describe('hit counts', () => {
      const WINDOW = 60_000;

      it('counts per scope and key in a fixed window that the first hit starts, then starts a new one', async () => {
        const key = `192.0.2.1-${user}`;
        expect(await store.hit('rate', key, 1, WINDOW, now)).toEqual({ hits: 1, resetAt: now + WINDOW });
        expect(await store.hit('rate', key, 1, WINDOW, now + 1_000)).toEqual({ hits: 2, resetAt: now + WINDOW });
        // The window is the first hit's: a later call's windowMs does not move it.
        expect(await store.hit('rate', key, 1, 5 * WINDOW, now + 2_000)).toEqual({ hits: 3, resetAt: now + WINDOW });
        // Another key, or the same key in another scope, has its own count.
        expect(await store.hit('rate', `other-${key}`, 1, WINDOW, now + 1_000)).toEqual({ hits: 1, resetAt: now + 1_000 + WINDOW });
        expect(await store.hit('elsewhere', key, 1, WINDOW, now + 1_000)).toEqual({ hits: 1, resetAt: now + 1_000 + WINDOW });
        // At resetAt the window has ended: the hit starts a new one.
        expect(await store.hit('rate', key, 1, WINDOW, now + WINDOW)).toEqual({ hits: 1, resetAt: now + 2 * WINDOW });
      });

      it('a delta of 0 reads, a negative one takes hits back but never below 0, and a count of 0 ends the window', async () => {
        const key = `198.51.100.7-${user}`;
        expect(await store.hit('rate', key, 0, WINDOW, now)).toEqual({ hits: 0, resetAt: now });
        expect(await store.hit('rate', key, -1, WINDOW, now)).toEqual({ hits: 0, resetAt: now });
        // Neither started a window: the first hit does.
        expect(await store.hit('rate', key, 3, WINDOW, now + 10)).toEqual({ hits: 3, resetAt: now + 10 + WINDOW });
        expect(await store.hit('rate', key, 0, WINDOW, now + 20)).toEqual({ hits: 3, resetAt: now + 10 + WINDOW });
        expect(await store.hit('rate', key, -1, WINDOW, now + 30)).toEqual({ hits: 2, resetAt: now + 10 + WINDOW });
        // Taking back more than the count forgets the key: the next hit starts a window of its own.
        expect(await store.hit('rate', key, -Number.MAX_SAFE_INTEGER, WINDOW, now + 40)).toEqual({ hits: 0, resetAt: now + 40 });
        expect(await store.hit('rate', key, 1, WINDOW, now + 50)).toEqual({ hits: 1, resetAt: now + 50 + WINDOW });
      });

      it('a key with braces, colons and a slash (an IPv6 subnet) is kept whole', async () => {
        const key = `2001:db8:{0}::/56-${user}`;
        expect(await store.hit('rate', key, 1, WINDOW, now)).toEqual({ hits: 1, resetAt: now + WINDOW });
        expect(await store.hit('rate', key.replace('{0}', '0'), 1, WINDOW, now)).toEqual({ hits: 1, resetAt: now + WINDOW });
        expect(await store.hit('rate', key, 1, WINDOW, now)).toEqual({ hits: 2, resetAt: now + WINDOW });
      });
    });

    describe('security stamps', () => {
      it('creates the stamp once from the first candidate, and renewing replaces it', async () => {
        expect(await store.getStamp(user, 'first')).toBe('first');
        expect(await store.getStamp(user, 'second')).toBe('first');
        await store.renewStamp(user, 'third');
        expect(await store.getStamp(user, 'fourth')).toBe('third');
        expect(await store.getStamp(`other-${user}`, 'own')).toBe('own');
      });
    });
  });
}
