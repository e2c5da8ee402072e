/**
 * OTPs come from crypto.randomInt, are stored only as an HMAC keyed with the
 * secret, and are compared in constant time; the session holds no code and no
 * password.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { generateCode, hashCode } from '../../src/methods/code/code.js';
import { MemoryMfaStore } from '../../src/stores/memory.js';
import { agent, codeOf, createTestApp, login, SECRET } from '../helpers/app.js';
import {
  containsToken,
  InspectableSessionStore,
  leaves,
  pairDevice,
  plain,
  read,
  sourceFiles,
  startSignOn,
  useSink,
} from './support.js';

const sink = useSink();
const SRC = fileURLToPath(new URL('../../src', import.meta.url));

const CHALLENGE_FIELDS = ['attempts', 'createdAt', 'deviceId', 'deviceStatus', 'expiresAt', 'hash', 'id', 'maxAttempts', 'purpose', 'sentAt', 'userId'];

describe('codes are stored only as an HMAC', () => {
  it('no code, in any form, is in the store, the session, the events or the logs', async () => {
    const sessionStore = new InspectableSessionStore();
    const t = createTestApp({ sink: sink(), sessionStore, routes: () => undefined });
    const alice = t.users[0]!;
    const codes: Array<{ code: string; purpose: string; userId: string }> = [];

    // A pairing in progress (bob, during sign-on), a pending sign-on (alice), a step-up (API).
    await pairDevice(t, sink(), 'u1', alice.email!);
    const a = agent(t.app);
    const signOn = await startSignOn(a, sink(), alice);
    codes.push({ code: signOn.code, purpose: 'signon', userId: 'u1' });

    const b = agent(t.app);
    await login(b, 'bob', 'pw-bob');
    const html = (await b.get('/mfa/enroll')).text;
    let after = sink().count();
    await b.post('/mfa/enroll').type('form').send({ _mfa_csrf: /name="_mfa_csrf" value="([^"]+)"/.exec(html)![1] });
    codes.push({ code: codeOf((await sink().next('bob@example.test', { after })).text), purpose: 'pairing', userId: 'u2' });

    after = sink().count();
    await t.auth.challenges.start('u1');
    codes.push({ code: codeOf((await sink().next(alice.email!, { after, subject: /confirm it is you/ })).text), purpose: 'stepup', userId: 'u1' });

    const users = plain((t.auth.store as any).users) as Record<string, { challenges: Record<string, { record: Record<string, unknown> }> }>;
    const dump = JSON.stringify(users);
    const values = leaves(users).map(String);
    for (const { code, purpose, userId } of codes) {
      expect(values, purpose).not.toContain(code);
      // Nor as a number (leading zeros dropped), when that number is too big to be some counter.
      if (Number(code) >= 1000) expect(values, purpose).not.toContain(Number(code).toString());
      expect(containsToken(dump, code), purpose).toBe(false);

      // The one stored form of the code is HMAC-SHA256(secret, purpose, user, challenge, code).
      const records = Object.values(users[userId]!.challenges).map((e) => e.record).filter((r) => r.purpose === purpose);
      const matching = records.filter((r) => r.hash === hashCode(Buffer.from(SECRET), { userId, challengeId: r.id as string, purpose: purpose as any }, code));
      expect(matching, purpose).toHaveLength(1);
      expect(matching[0]!.hash).toMatch(/^[0-9a-f]{64}$/);
      // ...and not a hash without the key.
      const { createHash } = await import('node:crypto');
      expect(dump).not.toContain(createHash('sha256').update(code).digest('hex'));
    }
    for (const state of Object.values(users)) {
      for (const { record } of Object.values(state.challenges)) expect(Object.keys(record).sort()).toEqual(CHALLENGE_FIELDS);
    }

    // The session (a pending sign-on and a pending pairing) holds no code and no password.
    const sessions = sessionStore.raw;
    expect(sessions).toContain('"pending"');
    for (const { code } of codes) expect(containsToken(sessions, code)).toBe(false);
    for (const user of t.users) expect(sessions).not.toContain(user.password);
    expect(sessions).not.toMatch(/"(otp|code|password)"/);

    // Audit events and logs never carry a code.
    const audit = JSON.stringify(t.events) + JSON.stringify(t.logs);
    for (const { code } of codes) expect(containsToken(audit, code)).toBe(false);
  });

  it('a copy of the store is no help without the secret: another secret gives other hashes', () => {
    const binding = { userId: 'u1', challengeId: '00000000-0000-4000-8000-000000000000', purpose: 'signon' as const };
    const h1 = hashCode(Buffer.from(SECRET), binding, '123456');
    const h2 = hashCode(Buffer.from(`${SECRET}x`), binding, '123456');
    expect(h1).not.toBe(h2);
    expect(hashCode(Buffer.from(SECRET), binding, '123457')).not.toBe(h1);
    expect(hashCode(Buffer.from(SECRET), { ...binding, userId: 'u2' }, '123456')).not.toBe(h1);
    expect(hashCode(Buffer.from(SECRET), { ...binding, purpose: 'pairing' }, '123456')).not.toBe(h1);
  });
});

describe('generateCode', () => {
  it('always has exactly the asked number of digits, leading zeros kept', () => {
    for (const length of [6, 7, 8, 9, 10]) {
      for (let i = 0; i < 2000; i++) expect(generateCode(length)).toMatch(new RegExp(`^[0-9]{${length}}$`));
    }
  });

  it('has a plausible (uniform) digit distribution in every position', () => {
    const samples = 30_000;
    const length = 6;
    const perPosition = Array.from({ length }, () => new Array<number>(10).fill(0));
    const total = new Array<number>(10).fill(0);
    const seen = new Set<string>();
    let leadingZero = 0;
    for (let i = 0; i < samples; i++) {
      const code = generateCode(length);
      if (!/^[0-9]{6}$/.test(code)) throw new Error(`bad code ${code}`);
      seen.add(code);
      if (code[0] === '0') leadingZero++;
      for (let p = 0; p < length; p++) {
        const d = code.charCodeAt(p) - 48;
        perPosition[p]![d]!++;
        total[d]!++;
      }
    }
    // Chi-square, 9 degrees of freedom: 45 is far beyond p = 1e-6 for a uniform source.
    const chi = (counts: number[]) => {
      const expected = counts.reduce((s, c) => s + c, 0) / 10;
      return counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    };
    for (const counts of perPosition) expect(chi(counts)).toBeLessThan(45);
    expect(chi(total)).toBeLessThan(45);
    // About 10% of codes start with 0 (3000 expected; sd ~52).
    expect(leadingZero).toBeGreaterThan(2500);
    expect(leadingZero).toBeLessThan(3500);
    // Birthday bound: ~445 repeats expected among 30 000 draws from 10^6; a biased source repeats far more.
    expect(samples - seen.size).toBeLessThan(700);
  });
});

describe('the sources keep to the promises', () => {
  it('codes come from crypto.randomInt; nothing in src uses Math.random', () => {
    const code = read(`${SRC}/methods/code/code.ts`);
    expect(code).toMatch(/import\s*\{[^}]*\brandomInt\b[^}]*\}\s*from\s*'node:crypto'/);
    const body = /export function generateCode[\s\S]*?\n}/.exec(code)![0];
    expect(body).toContain('randomInt(10)');
    for (const file of sourceFiles(SRC)) expect(read(file), file).not.toMatch(/Math\.random/);
  });

  it('stored hashes are compared in constant time', async () => {
    const memory = read(`${SRC}/stores/memory.ts`);
    const same = /function sameHash[\s\S]*?\n}/.exec(memory)![0];
    expect(same).toContain('timingSafeEqual');
    expect(same).not.toMatch(/[^!=]===?\s*(b|candidate)\b(?!\.length)/);
    // And behaves: equal hashes match, different or malformed ones do not.
    const store = new MemoryMfaStore();
    store.close();
    const now = Date.now();
    await store.insertDevice({
      id: 'd', userId: 'u', type: 'email', data: { email: 'u@example.test' }, nickname: null, status: 'ACTIVE',
      createdAt: now, updatedAt: now, activatedAt: now, activationChallengeId: null,
    }, 5);
    const hash = 'ab'.repeat(32);
    const base = { userId: 'u', deviceId: 'd', purpose: 'signon' as const, deviceStatus: 'ACTIVE' as const, attempts: 0, maxAttempts: 5, createdAt: now, sentAt: now, expiresAt: now + 60_000 };
    await store.createChallenge({ ...base, id: 'c1', hash }, 120_000, { limit: 10, windowMs: 60_000 }, now);
    const lockout = { threshold: 100, windowMs: 60_000, durationMs: 60_000 };
    expect((await store.attemptChallenge('u', 'c1', 'ab'.repeat(31), lockout, now)).status).toBe('invalid');
    expect((await store.attemptChallenge('u', 'c1', `${'ab'.repeat(31)}ac`, lockout, now)).status).toBe('invalid');
    expect((await store.attemptChallenge('u', 'c1', '', lockout, now)).status).toBe('invalid');
    expect((await store.attemptChallenge('u', 'c1', hash, lockout, now)).status).toBe('ok');
  });
});
