/**
 * Every counter and the single use are atomic in the store: a burst of
 * parallel guesses cannot get more tries than allowed, and one code cannot
 * sign on twice.
 */
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryMfaStore } from '../../src/stores/memory.js';
import type { ChallengeRecord, NewDeviceRecord } from '../../src/stores/types.js';
import { createTestApp, csrfOf } from '../helpers/app.js';
import { close, listen, pairDevice, startSignOn, useSink, wrongCode } from './support.js';
import type { Server } from 'node:http';

const sink = useSink();
const BURST = 50;

let server: Server | undefined;
afterEach(async () => {
  if (server) await close(server);
  server = undefined;
});

/** A pending sign-on for alice; returns the code, the session cookie and the page's CSRF token. */
async function pendingAlice(options: Parameters<typeof createTestApp>[0]['mfa'] = {}) {
  const t = createTestApp({ sink: sink(), mfa: options });
  const alice = t.users[0]!;
  await pairDevice(t, sink(), 'u1', alice.email!);
  server = await listen(t.app);
  const a = request.agent(server);
  const { code, cookie } = await startSignOn(a, sink(), alice);
  const token = csrfOf((await a.get('/mfa/challenge')).text);
  return { t, a, code, cookie, token };
}

/** BURST agents posting the same form at once, all carrying the one session cookie. */
function burst(cookie: string, body: (i: number) => Record<string, string>) {
  return Promise.all(
    Array.from({ length: BURST }, (_, i) => request.agent(server!).post('/mfa/challenge').set('Cookie', cookie).type('form').send(body(i))),
  );
}

describe('parallel requests against one pending sign-on', () => {
  it('50 parallel posts of the right code sign on exactly once', async () => {
    const { t, code, cookie, token } = await pendingAlice();
    const eventsBefore = t.events.length;
    const responses = await burst(cookie, () => ({ _mfa_csrf: token, otp: code }));

    const wins = responses.filter((r) => r.status === 303 && r.headers.location === '/');
    expect(wins).toHaveLength(1);
    for (const r of responses) if (r !== wins[0]) expect([400, 403]).toContain(r.status);
    expect(t.events.slice(eventsBefore).filter((e) => e.type === 'signon.completed')).toHaveLength(1);
    expect(t.events.slice(eventsBefore).filter((e) => e.type === 'mfa.succeeded')).toHaveLength(1);

    // The winner's new session is signed on; the shared old one is not.
    const winnerCookie = (wins[0]!.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith('connect.sid='))!.split(';')[0]!;
    expect((await request(server!).get('/plain').set('Cookie', winnerCookie)).status).toBe(200);
    expect((await request(server!).get('/plain').set('Cookie', cookie)).status).toBe(401);
  });

  it('50 parallel wrong guesses against a code with 3 tries: at most 3 are evaluated', async () => {
    const { t, a, code, cookie, token } = await pendingAlice();
    const responses = await burst(cookie, (i) => ({ _mfa_csrf: token, otp: wrongCode(code, i + 1) }));

    const evaluated = responses.filter((r) => /That code is not right/.test(r.text));
    const refused = responses.filter((r) => /Too many wrong tries/.test(r.text));
    expect(evaluated.length).toBeLessThanOrEqual(3);
    expect(evaluated.length + refused.length).toBe(BURST);
    for (const r of responses) expect(r.status).toBe(400);
    expect(t.events.filter((e) => e.type === 'mfa.failed' && e.reason === 'INVALID_OTP').length).toBeLessThanOrEqual(3);

    const users = (t.auth.store as any).users as Map<string, { challenges: Map<string, { record: ChallengeRecord }> }>;
    const record = [...users.get('u1')!.challenges.values()].map((e) => e.record).find((r) => r.purpose === 'signon')!;
    expect(record.attempts).toBe(3);

    // The right code is refused now.
    const right = await a.post('/mfa/challenge').type('form').send({ _mfa_csrf: token, otp: code });
    expect(right.text).toContain('Too many wrong tries');
    expect((await a.get('/plain')).status).toBe(401);
  });

  it('a burst of wrong guesses over many codes locks the user at exactly lockAfter failures', async () => {
    const { t, a, code, cookie, token } = await pendingAlice({ methods: { email: { attemptsPerCode: 10 } }, limits: { lockAfter: 4 } });
    const responses = await burst(cookie, (i) => ({ _mfa_csrf: token, otp: wrongCode(code, i + 1) }));
    expect(responses.filter((r) => /That code is not right/.test(r.text))).toHaveLength(3);
    expect(responses.filter((r) => r.status === 423)).toHaveLength(BURST - 3);
    expect(t.events.filter((e) => e.type === 'user.locked')).toHaveLength(1);
    expect((await a.post('/mfa/challenge').type('form').send({ _mfa_csrf: token, otp: code })).status).toBe(423);
  });
});

describe('the memory store directly', () => {
  const lockout = { threshold: 1000, windowMs: 60_000, durationMs: 60_000 };
  const quota = { limit: 1000, windowMs: 60_000 };
  const RIGHT = 'a'.repeat(64);
  const WRONG = 'b'.repeat(64);

  function record(id: string, now: number, maxAttempts = 3): ChallengeRecord {
    return { id, userId: 'u1', deviceId: 'd1', purpose: 'signon', deviceStatus: 'ACTIVE', hash: RIGHT, attempts: 0, maxAttempts, createdAt: now, sentAt: now, expiresAt: now + 60_000 };
  }

  /** A store holding u1's active device d1, which the challenges below are sent to. */
  async function fresh(): Promise<MemoryMfaStore> {
    const store = new MemoryMfaStore();
    store.close();
    const now = Date.now();
    const device: NewDeviceRecord = {
      id: 'd1', userId: 'u1', type: 'email', data: { email: 'alice@example.test' }, nickname: null, status: 'ACTIVE',
      createdAt: now, updatedAt: now, activatedAt: now, activationChallengeId: null,
    };
    expect(await store.insertDevice(device, 5)).not.toBeNull();
    return store;
  }

  it('50 parallel attempts with the right hash: one ok, the rest find it gone', async () => {
    const store = await fresh();
    const now = Date.now();
    await store.createChallenge(record('c1', now), 120_000, quota, now);
    const results = await Promise.all(Array.from({ length: BURST }, () => store.attemptChallenge('u1', 'c1', RIGHT, lockout, now)));
    expect(results.filter((r) => r.status === 'ok')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'missing')).toHaveLength(BURST - 1);
  });

  it('50 parallel wrong attempts against 3 tries: 3 invalid, the rest exhausted', async () => {
    const store = await fresh();
    const now = Date.now();
    await store.createChallenge(record('c1', now), 120_000, quota, now);
    const results = await Promise.all(Array.from({ length: BURST }, () => store.attemptChallenge('u1', 'c1', WRONG, lockout, now)));
    expect(results.filter((r) => r.status === 'invalid')).toHaveLength(3);
    expect(results.filter((r) => r.status === 'exhausted')).toHaveLength(BURST - 3);
    expect(results.filter((r) => r.status === 'invalid').map((r) => (r as { remainingAttempts: number }).remainingAttempts).sort()).toEqual([0, 1, 2]);
    expect((await store.attemptChallenge('u1', 'c1', RIGHT, lockout, now)).status).toBe('exhausted');
    expect((await store.getChallenge('u1', 'c1'))!.attempts).toBe(3);
  });

  it('parallel wrong attempts over many challenges lock exactly once, at the threshold', async () => {
    const store = await fresh();
    const now = Date.now();
    for (let i = 0; i < 10; i++) await store.createChallenge(record(`c${i}`, now, 10), 120_000, quota, now);
    const rule = { threshold: 10, windowMs: 60_000, durationMs: 60_000 };
    const results = await Promise.all(Array.from({ length: BURST }, (_, i) => store.attemptChallenge('u1', `c${i % 10}`, WRONG, rule, now)));
    expect(results.filter((r) => r.status === 'invalid')).toHaveLength(9);
    expect(results.filter((r) => r.status === 'locked' && r.locked === true)).toHaveLength(1);
    expect(results.filter((r) => r.status === 'locked')).toHaveLength(BURST - 9);
    expect(await store.getLock('u1', now)).toBe(now + 60_000);
    // Locked: even the right hash is refused.
    expect((await store.attemptChallenge('u1', 'c0', RIGHT, rule, now)).status).toBe('locked');
  });

  it('parallel sends: the send quota lets exactly `limit` through', async () => {
    const store = await fresh();
    const now = Date.now();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => store.createChallenge(record(`c${i}`, now), 120_000, { limit: 5, windowMs: 60_000 }, now)),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(5);
    expect(results.filter((r) => !r.ok)).toHaveLength(15);
  });

  it('parallel resends within the cooldown: exactly one replaces the code', async () => {
    const store = await fresh();
    const now = Date.now();
    await store.createChallenge(record('c1', now - 60_000), 120_000, quota, now - 60_000);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.replaceChallengeCode('u1', 'c1', { hash: `${i}`.padStart(64, 'c'), expiresAt: now + 60_000 }, 120_000, { ...quota, cooldownMs: 30_000 }, now),
      ),
    );
    expect(results.filter((r) => r.status === 'ok')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'too_soon')).toHaveLength(19);
  });

  it('parallel resends against the quota: never more than the limit', async () => {
    const store = await fresh();
    const now = Date.now();
    for (let i = 0; i < 10; i++) await store.createChallenge(record(`c${i}`, now - 60_000), 120_000, { limit: 100, windowMs: 1000 }, now - 60_000);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        store.replaceChallengeCode('u1', `c${i}`, { hash: RIGHT, expiresAt: now + 60_000 }, 120_000, { limit: 4, windowMs: 60_000, cooldownMs: 0 }, now),
      ),
    );
    expect(results.filter((r) => r.status === 'ok')).toHaveLength(4);
    expect(results.filter((r) => r.status === 'quota')).toHaveLength(6);
  });
});
