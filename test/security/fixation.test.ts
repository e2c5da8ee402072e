/**
 * Session fixation at the password step: an id planted in the victim's
 * browser before the password step must not hold the pending sign-on that
 * the victim's password creates. Every path that creates a pending sign-on
 * gives it a new session id: the login route and the gate taking a login back.
 */
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { agent, codeOf, createTestApp, csrfOf, login, type TestApp } from '../helpers/app.js';
import { answer, InspectableSessionStore, mailsTo, pairDevice, sessionCookie, sidOf, useSink } from './support.js';

const sink = useSink();

/** An attacker's own session (a failed login leaves a message in it): the id they plant in the victim's browser. */
async function plantedSession(t: TestApp): Promise<string> {
  const res = await request(t.app).post('/login').type('form').send({ username: 'nobody', password: 'wrong' });
  const cookie = sessionCookie(res);
  expect(cookie, 'the failed login stores a session').toBeDefined();
  return cookie!;
}

/** The victim's password step, in a browser that carries the planted cookie. */
async function victimLogsIn(t: TestApp, planted: string, username: string, password: string) {
  const res = await request(t.app).post('/login').set('Cookie', planted).type('form').send({ username, password });
  expect(res.status).toBe(303);
  return res;
}

describe('session fixation at the password step (failed before: the pending sign-on stayed under the planted id)', () => {
  it("with enrollAddress 'any': the planted id cannot pair the attacker's address and sign on as the victim", async () => {
    const sessionStore = new InspectableSessionStore();
    const t = createTestApp({ sink: sink(), sessionStore, mfa: { policy: { skip: () => false, enrollAddress: 'any' } } });
    const planted = await plantedSession(t);
    const res = await victimLogsIn(t, planted, 'bob', 'pw-bob');
    expect(res.headers.location).toBe('/mfa/enroll');
    const victimCookie = sessionCookie(res);
    expect(victimCookie, 'the password step sets a new session cookie').toBeDefined();
    expect(sidOf(victimCookie!)).not.toBe(sidOf(planted));
    expect(sessionStore.dump()[sidOf(planted)]).toBeUndefined();
    expect(sessionStore.dump()[sidOf(victimCookie!)].mfa.pending).toMatchObject({ userId: 'u2', stage: 'enroll' });

    // The attacker, holding the planted id, tries the whole takeover.
    const attacker = agent(t.app);
    const page = await attacker.get('/mfa/enroll').set('Cookie', planted);
    expect(page.status).toBe(303);
    expect(page.headers.location).toBe('/login');
    const before = sink().count();
    const pair = await attacker.post('/mfa/enroll').set('Cookie', planted).type('form').send({ email: 'attacker@evil.test', _mfa_csrf: 'x' });
    expect(pair.status).toBe(403);
    expect(mailsTo(sink(), 'attacker@evil.test', { after: before })).toEqual([]);
    expect(await t.auth.devices.list('u2')).toEqual([]);
    expect((await request(t.app).get('/plain').set('Cookie', planted)).status).toBe(401);

    // The victim's own browser goes on as before.
    const victim = agent(t.app);
    const form = await victim.get('/mfa/enroll').set('Cookie', victimCookie!);
    expect(form.status).toBe(200);
  });

  it('with the defaults: the planted id neither sees the challenge nor cancels it, and the victim still answers it', async () => {
    const sessionStore = new InspectableSessionStore();
    const t = createTestApp({ sink: sink(), sessionStore });
    const alice = t.users[0]!;
    await pairDevice(t, sink(), 'u1', alice.email!);
    const planted = await plantedSession(t);
    const after = sink().count();
    const res = await victimLogsIn(t, planted, 'alice', 'pw-alice');
    expect(res.headers.location).toBe('/mfa/challenge');
    const code = codeOf((await sink().next(alice.email!, { after })).text);
    const victimCookie = sessionCookie(res)!;
    expect(sidOf(victimCookie)).not.toBe(sidOf(planted));

    const seen = await request(t.app).get('/mfa/challenge').set('Cookie', planted);
    expect(seen.headers.location).toBe('/login');
    expect(seen.text).not.toContain(alice.email!.slice(-12));
    const cancel = await request(t.app).post('/mfa/challenge/cancel').set('Cookie', planted).type('form').send({});
    expect(cancel.status).toBe(403);
    for (let i = 0; i < 3; i++) {
      await request(t.app).post('/mfa/challenge').set('Cookie', planted).type('form').send({ otp: '000000' });
    }

    const victim = agent(t.app);
    const token = csrfOf((await victim.get('/mfa/challenge').set('Cookie', victimCookie)).text);
    const done = await victim.post('/mfa/challenge').set('Cookie', victimCookie).type('form').send({ _mfa_csrf: token, otp: code });
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe('/');
  });

  it("carries returnTo over, and gives the pending sign-on a CSRF token of its own, not the planted session's", async () => {
    const sessionStore = new InspectableSessionStore();
    const t = createTestApp({ sink: sink(), sessionStore });
    const alice = t.users[0]!;
    await pairDevice(t, sink(), 'u1', alice.email!);
    // The attacker plants a session that holds a CSRF token (their own pending sign-on as bob) and a returnTo.
    const attacker = agent(t.app);
    await attacker.get('/account');
    const plantedCookie = sessionCookie(await login(attacker, 'bob', 'pw-bob'))!;
    const plantedToken = csrfOf((await attacker.get('/mfa/enroll')).text);
    const planted = { sid: sidOf(plantedCookie) };
    expect(sessionStore.dump()[planted.sid].mfa.csrf).toBe(plantedToken);

    const after = sink().count();
    const res = await victimLogsIn(t, plantedCookie, 'alice', 'pw-alice');
    const code = codeOf((await sink().next(alice.email!, { after })).text);
    const newSid = sidOf(sessionCookie(res)!);
    expect(newSid).not.toBe(planted.sid);
    const fresh = sessionStore.dump()[newSid];
    expect(fresh.returnTo).toBe('/account');
    expect(fresh.mfa.csrf).toEqual(expect.any(String));
    expect(fresh.mfa.csrf).not.toBe(plantedToken);
    expect(fresh.mfa.pending).toMatchObject({ userId: 'u1' });

    const victim = agent(t.app);
    const done = await victim.post('/mfa/challenge').set('Cookie', sessionCookie(res)!).type('form').send({ _mfa_csrf: fresh.mfa.csrf, otp: code });
    expect(done.headers.location).toBe('/account');
    // The planted token answers nothing in the victim's new session.
    const refused = await request(t.app).post('/mfa/challenge/cancel').set('Cookie', sessionCookie(res)!).type('form').send({ _mfa_csrf: plantedToken });
    expect(refused.status).toBe(403);
  });

  it('when the gate takes back a login that skipped the policy, the pending sign-on gets a new session id', async () => {
    const sessionStore = new InspectableSessionStore();
    const t = createTestApp({
      sink: sink(),
      sessionStore,
      routes: (app, _auth, passport) => app.post('/direct-login', passport.authenticate('local', { successRedirect: '/account', failureRedirect: '/login' })),
    });
    const alice = t.users[0]!;
    await pairDevice(t, sink(), 'u1', alice.email!);
    const a = agent(t.app);
    const loggedIn = await a.post('/direct-login').type('form').send({ username: 'alice', password: 'pw-alice' });
    const loginSid = sidOf(sessionCookie(loggedIn)!);
    expect(sessionStore.dump()[loginSid].passport.user).toBe('u1');

    const taken = await a.get('/account');
    expect(taken.headers.location).toBe('/mfa/challenge');
    const takenCookie = sessionCookie(taken);
    expect(takenCookie, 'the request where the gate takes the login back sets a new session cookie').toBeDefined();
    const pendingSid = sidOf(takenCookie!);
    expect(pendingSid).not.toBe(loginSid);
    expect(sessionStore.dump()[loginSid]).toBeUndefined();
    expect(sessionStore.dump()[pendingSid].mfa.pending).toMatchObject({ userId: 'u1', stage: 'decide', policy: 'default' });
    expect(sessionStore.dump()[pendingSid].passport).toBeUndefined();

    const after = sink().count();
    expect((await a.get('/mfa/challenge')).headers.location).toBe('/mfa/challenge');
    const code = codeOf((await sink().next(alice.email!, { after })).text);
    expect((await answer(a, code)).status).toBe(303);
    expect((await a.get('/account')).text).toBe('account of alice');
  });
});
