/**
 * The one invariant: req.user is never set, and req.isAuthenticated() is
 * never true, before the sign-on policy is satisfied, and the gate turns a
 * login that bypassed the policy back into a pending sign-on.
 */
import type express from 'express';
import { describe, expect, it } from 'vitest';
import { agent, createTestApp, csrfOf, login, type Agent, type TestApp, type TestUser } from '../helpers/app.js';
import { answer, pairDevice, startSignOn, useSink } from './support.js';

const sink = useSink();

function probeRoutes(app: express.Express, _auth: unknown, passport: any): void {
  app.get('/whoami', (req, res) => res.json({ authenticated: req.isAuthenticated(), user: req.user ?? null }));
  // An app route that signs on with Passport directly, bypassing the sign-on policy.
  app.post('/direct-login', passport.authenticate('local', { successRedirect: '/account', failureRedirect: '/login' }));
  // A route that logs another user in while keeping the session's data (and the library's record of alice).
  app.post('/switch-to-bob', (req, res, next) => {
    const bob = { id: 'u2', username: 'bob', password: 'pw-bob', email: 'bob@example.test' };
    req.logIn(bob, { keepSessionInfo: true, session: true }, (err) => (err ? next(err) : res.redirect(303, '/account')));
  });
}

/** Every way of reaching a protected resource, while the session is pending at `stage`. */
async function expectNothingReachable(a: Agent, t: TestApp, stage: 'challenge' | 'enroll', userId: string) {
  const where = `/mfa/${stage}`;
  expect((await a.get('/whoami')).body).toEqual({ authenticated: false, user: null });
  expect((await a.get('/plain')).status).toBe(401);
  expect((await a.get('/')).text).toBe('home, signed out');

  for (const path of ['/account', '/payees', '/mfa/devices', '/mfa/devices/add', '/mfa/devices/add?type=email', '/mfa/devices/some-id/activate']) {
    const res = await a.get(path);
    expect(res.status, path).toBe(303);
    expect(res.headers.location, path).toBe(where);
  }
  for (const path of ['/api/me', '/account', '/payees', '/mfa/devices']) {
    const res = await a.get(path).set('Accept', 'application/json');
    expect(res.status, path).toBe(401);
    expect(res.body.code, path).toBe('UNAUTHENTICATED');
  }
  // A state-changing page with the session's own valid CSRF token is still refused.
  const token = csrfOf((await a.get(where)).text);
  const before = sink().count();
  const devicesBefore = (await t.auth.devices.list(userId)).length;
  const add = await a.post('/mfa/devices/add').type('form').send({ _mfa_csrf: token, email: 'thief@evil.test' });
  expect(add.status).toBe(303);
  expect(add.headers.location).toBe(where);
  expect((await t.auth.devices.list(userId)).length).toBe(devicesBefore);
  expect(sink().count()).toBe(before);
}

describe('forced browsing while a sign-on is pending', () => {
  it('at the challenge: no route is reachable, req.user is unset, JSON clients get 401', async () => {
    const t = createTestApp({ sink: sink(), routes: probeRoutes });
    const alice = t.users[0]!;
    await pairDevice(t, sink(), 'u1', alice.email!);
    const a = agent(t.app);
    const { code } = await startSignOn(a, sink(), alice);

    await expectNothingReachable(a, t, 'challenge', 'u1');
    // A wrong code keeps it pending.
    expect((await answer(a, code === '000000' ? '111111' : '000000')).status).toBe(400);
    await expectNothingReachable(a, t, 'challenge', 'u1');

    // Control: the right code does sign on.
    const done = await answer(a, code);
    expect(done.status).toBe(303);
    expect((await a.get('/whoami')).body).toMatchObject({ authenticated: true, user: { id: 'u1' } });
  });

  it('while pairing during sign-on: no route is reachable', async () => {
    const t = createTestApp({ sink: sink(), routes: probeRoutes });
    const a = agent(t.app);
    const res = await login(a, 'bob', 'pw-bob');
    expect(res.headers.location).toBe('/mfa/enroll');
    await expectNothingReachable(a, t, 'enroll', 'u2');
  });

  it('after cancelling, the session is simply signed out', async () => {
    const t = createTestApp({ sink: sink(), routes: probeRoutes });
    const alice = t.users[0]!;
    await pairDevice(t, sink(), 'u1', alice.email!);
    const a = agent(t.app);
    await startSignOn(a, sink(), alice);
    const html = (await a.get('/mfa/challenge')).text;
    const cancel = await a.post('/mfa/challenge/cancel').type('form').send({ _mfa_csrf: csrfOf(html) });
    expect(cancel.headers.location).toBe('/login');
    expect((await a.get('/account')).headers.location).toBe('/login');
    expect((await a.get('/whoami')).body).toEqual({ authenticated: false, user: null });
  });
});

describe('the gate: a login that bypassed the sign-on policy', () => {
  async function directLogin(a: Agent, user: TestUser) {
    const res = await a.post('/direct-login').type('form').send({ username: user.username, password: user.password });
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('/account');
  }

  it('passport.authenticate in an app route gives no access to /account or /plain afterwards', async () => {
    const t = createTestApp({ sink: sink(), routes: probeRoutes });
    const alice = t.users[0]!;
    await pairDevice(t, sink(), 'u1', alice.email!);
    const a = agent(t.app);
    await directLogin(a, alice);

    const account = await a.get('/account');
    expect(account.status).toBe(303);
    expect(account.headers.location).toBe('/mfa/challenge');
    expect((await a.get('/plain')).status).toBe(401);
    expect((await a.get('/whoami')).body).toEqual({ authenticated: false, user: null });
    expect((await a.get('/api/me').set('Accept', 'application/json')).status).toBe(401);
    expect((await a.get('/plain')).status).toBe(401);
    expect(t.logs.some((l) => l.level === 'warn' && /without the sign-on policy/.test(l.message))).toBe(true);

    // The policy then runs: a code goes out and only that code signs on.
    const after = sink().count();
    const challenge = await a.get('/mfa/challenge');
    expect(challenge.status).toBe(303);
    expect(challenge.headers.location).toBe('/mfa/challenge');
    const mail = await sink().next(alice.email!, { after, subject: /sign-on code/ });
    expect((await a.get('/plain')).status).toBe(401);
    const done = await answer(a, /\b(\d{6})\b/.exec(mail.text)![1]!);
    expect(done.status).toBe(303);
    expect((await a.get('/account')).text).toBe('account of alice');
    expect((await a.get('/plain')).status).toBe(200);
  });

  it('a user without a device who logs in directly is sent to pair one, not let in', async () => {
    const t = createTestApp({ sink: sink(), routes: probeRoutes });
    const a = agent(t.app);
    await directLogin(a, t.users[1]!);
    expect((await a.get('/plain')).status).toBe(401);
    expect((await a.get('/account')).headers.location).toBe('/mfa/challenge');
    const next = await a.get('/mfa/challenge');
    expect(next.headers.location).toBe('/mfa/enroll');
    expect((await a.get('/plain')).status).toBe(401);
    expect((await a.get('/account')).headers.location).toBe('/mfa/enroll');
  });

  it('req.logIn of another user with keepSessionInfo does not inherit the signed-on record', async () => {
    const t = createTestApp({ sink: sink(), routes: probeRoutes });
    const alice = t.users[0]!;
    await pairDevice(t, sink(), 'u1', alice.email!);
    const a = agent(t.app);
    const { code } = await startSignOn(a, sink(), alice);
    expect((await answer(a, code)).status).toBe(303);
    expect((await a.get('/account')).text).toBe('account of alice');

    const switched = await a.post('/switch-to-bob');
    expect(switched.status).toBe(303);
    const account = await a.get('/account');
    expect(account.status).toBe(303);
    expect(account.text).not.toContain('account of bob');
    expect((await a.get('/plain')).status).toBe(401);
    expect((await a.get('/whoami')).body).toEqual({ authenticated: false, user: null });
  });
});
