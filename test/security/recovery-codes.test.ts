/**
 * Recovery codes keep DESIGN's promises: stored only as HMACs, each used
 * once (atomically: a burst of parallel uses of one code signs on once), a
 * new set voids the old one, wrong codes count toward the user's lockout, an
 * administrator's reset voids them, and each use is told to the user.
 */
import { createHash } from 'node:crypto';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { hashRecoveryCode } from '../../src/methods/recovery/codes.js';
import { agent, createTestApp, csrfOf, login, SECRET, submit, type TestApp } from '../helpers/app.js';
import { call } from '../api/openapi.js';
import { adminWithFreshMfa } from '../api/support.js';
import { close, containsToken, InspectableSessionStore, leaves, listen, mailsTo, pairDevice, plain, useSink } from './support.js';

const sink = useSink();

/** Alice (u1) with her address paired. */
async function aliceWithDevice(t: TestApp) {
  await pairDevice(t, sink(), 'u1', 'alice@example.test');
  return t.users[0]!;
}

/** A pending sign-on of alice at the challenge, in a fresh agent; returns the agent and the recovery page's CSRF token. */
async function pendingAtRecovery(t: TestApp) {
  const a = agent(t.app);
  expect((await login(a, 'alice', 'pw-alice')).headers.location).toBe('/mfa/challenge');
  const page = await a.get('/mfa/recovery');
  expect(page.status).toBe(200);
  return { a, csrf: csrfOf(page.text) };
}

describe('recovery codes are single use', () => {
  it('each code signs on once; a spent code is a wrong code', async () => {
    const t = createTestApp({ sink: sink() });
    await aliceWithDevice(t);
    const [code] = await t.auth.recoveryCodes.generate('u1');
    const first = await pendingAtRecovery(t);
    expect((await first.a.post('/mfa/recovery').type('form').send({ _mfa_csrf: first.csrf, recoveryCode: code })).status).toBe(303);
    const second = await pendingAtRecovery(t);
    const again = await second.a.post('/mfa/recovery').type('form').send({ _mfa_csrf: second.csrf, recoveryCode: code });
    expect(again.status).toBe(400);
    expect(await t.auth.recoveryCodes.remaining('u1')).toBe(9);
    await expect(t.auth.recoveryCodes.use('u1', code!)).rejects.toMatchObject({ code: 'INVALID_OTP' });
  });

  it('20 parallel uses of one code from 20 pending sign-ons of the user: exactly one signs on', async () => {
    const t = createTestApp({ sink: sink(), mfa: { limits: { lockAfter: 100 } } });
    await aliceWithDevice(t);
    const [code] = await t.auth.recoveryCodes.generate('u1');
    const server = await listen(t.app);
    try {
      const pendings = [];
      for (let i = 0; i < 20; i++) {
        const a = request.agent(server);
        await login(a, 'alice', 'pw-alice');
        pendings.push({ a, csrf: csrfOf((await a.get('/mfa/recovery')).text) });
      }
      const results = await Promise.all(pendings.map(({ a, csrf }) => a.post('/mfa/recovery').type('form').send({ _mfa_csrf: csrf, recoveryCode: code })));
      expect(results.filter((r) => r.status === 303)).toHaveLength(1);
      expect(results.filter((r) => r.status === 400)).toHaveLength(19);
      expect(t.events.filter((e) => e.type === 'signon.completed' && e.userId === 'u1')).toHaveLength(1);
      expect(t.events.filter((e) => e.type === 'recovery.used')).toHaveLength(1);
    } finally {
      await close(server);
    }
  });

  it('the programmatic path in parallel: one use of a code succeeds', async () => {
    const t = createTestApp({ sink: sink(), mfa: { limits: { lockAfter: 100 } } });
    await aliceWithDevice(t);
    const [code] = await t.auth.recoveryCodes.generate('u1');
    const outcomes = await Promise.allSettled(Array.from({ length: 20 }, () => t.auth.recoveryCodes.use('u1', code!)));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    expect(outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason.code)).toEqual(Array(19).fill('INVALID_OTP'));
  });
});

describe('recovery codes are stored only as HMACs', () => {
  it('no code in plain text in the store, the session, the events or the logs', async () => {
    const sessionStore = new InspectableSessionStore();
    const t = createTestApp({ sink: sink(), sessionStore });
    await aliceWithDevice(t);
    const a = agent(t.app);
    // A sign-on, then a set made on the page, one of it used to sign on again, one set through the API.
    const codes: string[] = await t.auth.recoveryCodes.generate('u1');
    await login(a, 'alice', 'pw-alice');
    await submit(a, '/mfa/recovery', '/mfa/recovery', { recoveryCode: codes[0]! });
    const page = await submit(a, '/mfa/devices', '/mfa/devices/recovery-codes');
    const shown = [...page.text.matchAll(/<code>([^<]+)<\/code>/g)].map((m) => m[1]!);
    expect(shown).toHaveLength(10);
    codes.push(...shown);
    const b = agent(t.app);
    await login(b, 'alice', 'pw-alice');
    await submit(b, '/mfa/recovery', '/mfa/recovery', { recoveryCode: shown[3]! });
    const api = await call(b, 'post', '/recovery-codes', {}, {});
    expect(api.status).toBe(201);
    codes.push(...(api.body.codes as string[]));

    const users = plain((t.auth.store as any).users) as Record<string, { recoveryCodes?: string[] }>;
    const dump = JSON.stringify(users);
    const values = leaves(users).map(String);
    const texts = { store: dump, sessions: sessionStore.raw, events: JSON.stringify(t.events), logs: JSON.stringify(t.logs) };
    for (const code of codes) {
      const compact = code.replaceAll('-', '');
      for (const [where, text] of Object.entries(texts)) {
        expect(containsToken(text, code), `${code} in ${where}`).toBe(false);
        expect(containsToken(text, compact), `${compact} in ${where}`).toBe(false);
      }
      expect(values).not.toContain(code);
      expect(dump).not.toContain(createHash('sha256').update(code).digest('hex'));
    }
    // What is kept: the HMAC of each unused code of the last set, bound to the user.
    expect([...users.u1!.recoveryCodes!].sort()).toEqual((api.body.codes as string[]).map((c) => hashRecoveryCode(Buffer.from(SECRET), 'u1', c)).sort());
  });
});

describe('a new set voids the old one', () => {
  it('no code of the earlier set works after a regeneration', async () => {
    const t = createTestApp({ sink: sink() });
    await aliceWithDevice(t);
    const old = await t.auth.recoveryCodes.generate('u1');
    const fresh = await t.auth.recoveryCodes.generate('u1');
    expect(fresh.filter((c) => old.includes(c))).toEqual([]);
    expect(await t.auth.recoveryCodes.remaining('u1')).toBe(10);
    const { a, csrf } = await pendingAtRecovery(t);
    const res = await a.post('/mfa/recovery').type('form').send({ _mfa_csrf: csrf, recoveryCode: old[0] });
    expect(res.status).toBe(400);
    expect(t.events.filter((e) => e.type === 'recovery.generated')).toHaveLength(2);
  });
});

describe('wrong codes count toward the lockout', () => {
  it('lockAfter wrong recovery codes lock MFA: then even a right code, and a one-time code, are refused', async () => {
    const t = createTestApp({ sink: sink(), mfa: { limits: { lockAfter: 3, lockDuration: '5m' } } });
    await aliceWithDevice(t);
    const [code] = await t.auth.recoveryCodes.generate('u1');
    const { a, csrf } = await pendingAtRecovery(t);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await a.post('/mfa/recovery').type('form').send({ _mfa_csrf: csrf, recoveryCode: `zzzz-zzzz-zzz${i}` })).status);
    expect(statuses).toEqual([400, 400, 423]);
    expect(t.events.filter((e) => e.type === 'user.locked' && e.userId === 'u1')).toHaveLength(1);
    const right = await a.post('/mfa/recovery').type('form').send({ _mfa_csrf: csrf, recoveryCode: code });
    expect(right.status).toBe(423);
    expect(await t.auth.recoveryCodes.remaining('u1')).toBe(10);
    await expect(t.auth.challenges.start('u1')).rejects.toMatchObject({ code: 'LOCKED' });
  });

  it('wrong one-time codes and wrong recovery codes share one count', async () => {
    const t = createTestApp({ sink: sink(), mfa: { limits: { lockAfter: 2 } } });
    await aliceWithDevice(t);
    await t.auth.recoveryCodes.generate('u1');
    const { a } = await pendingAtRecovery(t);
    expect((await submit(a, '/mfa/challenge', '/mfa/challenge', { otp: '000000' })).status).toBe(400);
    await expect(t.auth.recoveryCodes.use('u1', 'zzzz-zzzz-zzzz')).rejects.toMatchObject({ code: 'LOCKED' });
  });
});

describe('an administrator\'s reset', () => {
  it('DELETE /users/{userId}/devices voids the user\'s recovery codes; auth.revoke does not', async () => {
    const t = createTestApp({ sink: sink(), mfa: { admin: (req) => (req as { user?: { admin?: boolean } }).user?.admin === true } });
    await aliceWithDevice(t);
    const codes = await t.auth.recoveryCodes.generate('u1');
    await t.auth.revoke('u1');
    expect(await t.auth.recoveryCodes.remaining('u1')).toBe(10);
    const root = await adminWithFreshMfa(t, sink());
    expect((await call(root, 'delete', '/users/{userId}/devices', { userId: 'u1' })).status).toBe(204);
    expect(await t.auth.recoveryCodes.remaining('u1')).toBe(0);
    await expect(t.auth.recoveryCodes.use('u1', codes[0]!)).rejects.toMatchObject({ code: 'INVALID_OTP' });
  });
});

describe('the notice', () => {
  it('a use is mailed to every active address of the user, with how many are left; a wrong code sends nothing', async () => {
    const t = createTestApp({ sink: sink() });
    await aliceWithDevice(t);
    await pairDevice(t, sink(), 'u1', 'alice.work@example.test');
    const codes = await t.auth.recoveryCodes.generate('u1');
    const after = sink().count();
    const { a, csrf } = await pendingAtRecovery(t);
    await a.post('/mfa/recovery').type('form').send({ _mfa_csrf: csrf, recoveryCode: 'zzzz-zzzz-zzzz' });
    expect(await a.post('/mfa/recovery').type('form').send({ _mfa_csrf: csrf, recoveryCode: codes[1] }).then((r) => r.status)).toBe(303);
    const home = await sink().next('alice@example.test', { after, subject: /recovery code was used/ });
    const work = await sink().next('alice.work@example.test', { after, subject: /recovery code was used/ });
    for (const mail of [home, work]) {
      expect(mail.text).toContain('9 recovery codes are left.');
      expect(mail.html).toContain('9 recovery codes are left.');
      for (const code of codes) expect(containsToken(mail.raw, code)).toBe(false);
    }
    expect(mailsTo(sink(), 'alice@example.test', { after, subject: /recovery/ })).toHaveLength(1);
    expect(t.events.filter((e) => e.type === 'recovery.used')).toHaveLength(1);
  });
});
