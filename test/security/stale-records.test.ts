/**
 * The gate vouches for a login only with the library's record of that very
 * sign-on: a record left behind by a logout, or by an earlier user of the
 * browser, vouches for nothing later.
 */
import { describe, expect, it } from 'vitest';
import { agent, createTestApp, enrollAndSignOn, login, type TestApp } from '../helpers/app.js';
import { answer, pairDevice, startSignOn, useSink } from './support.js';

const sink = useSink();

describe('records the gate must not inherit (each failed before)', () => {
  it('after a logout with keepSessionInfo, a password-only login through passport.authenticate does not pass', async () => {
    const t: TestApp = createTestApp({
      sink: sink(),
      routes: (app, _auth, passport) => {
        app.post('/logout-keep', (req, res, next) => req.logout({ keepSessionInfo: true }, (err) => (err ? next(err) : res.redirect(303, '/'))));
        // An app route that signs on with Passport alone, keeping session data (returnTo, say), as many apps do.
        app.post('/direct-login', passport.authenticate('local', { keepSessionInfo: true, successRedirect: '/account', failureRedirect: '/login' }));
      },
    });
    const alice = t.users[0]!;
    await pairDevice(t, sink(), 'u1', alice.email!);
    const a = agent(t.app);
    const { code } = await startSignOn(a, sink(), alice);
    expect((await answer(a, code)).status).toBe(303);
    expect((await a.get('/account')).text).toBe('account of alice');

    await a.post('/logout-keep');
    await a.post('/direct-login').type('form').send({ username: 'alice', password: 'pw-alice' });
    const res = await a.get('/account');
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/mfa/challenge');
    expect((await a.get('/plain')).status).toBe(401);
  });

  it("a login taken back by the gate gets the default policy, not the named policy of the browser's previous user", async () => {
    const t = createTestApp({
      sink: sink(),
      mfa: { policies: { contractors: { noDevice: 'bypass' } } },
      routes: (app, auth) => {
        app.post('/contractors/login', auth.authenticate('local', { policy: 'contractors' }));
        // A route that logs another user in, keeping the session's data.
        app.post('/switch-to-bob', (req, res, next) => {
          const bob = t.users[1]!;
          req.logIn(bob, { keepSessionInfo: true, session: true }, (err) => (err ? next(err) : res.redirect(303, '/account')));
        });
      },
    });
    const a = agent(t.app);
    // alice, a contractor without a device, signs on by password under her policy.
    expect((await a.post('/contractors/login').type('form').send({ username: 'alice', password: 'pw-alice' })).headers.location).toBe('/');
    expect((await a.get('/account')).text).toBe('account of alice');

    await a.post('/switch-to-bob');
    const taken = await a.get('/account');
    expect(taken.headers.location).toBe('/mfa/challenge');
    // The default policy: bob, who has no device, pairs one; he is not let through by the contractors' bypass.
    const decided = await a.get('/mfa/challenge');
    expect(decided.headers.location).toBe('/mfa/enroll');
    expect((await a.get('/plain')).status).toBe(401);
  });

  it('the record of a signed-on user is dropped once Passport has no login (and a plain logout still signs out)', async () => {
    const t = createTestApp({ sink: sink() });
    const a = agent(t.app);
    expect((await enrollAndSignOn(a, sink(), t.users[0]!)).status).toBe(303);
    await a.post('/logout');
    expect((await a.get('/account')).headers.location).toBe('/login');
    expect((await login(a, 'alice', 'pw-alice')).headers.location).toBe('/mfa/challenge');
  });
});
