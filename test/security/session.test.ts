/**
 * The session id changes when a sign-on completes, and the pending sign-on
 * does not survive into the new session (only returnTo does).
 */
import { describe, expect, it } from 'vitest';
import { agent, codeOf, createTestApp, csrfOf, login, submit } from '../helpers/app.js';
import { answer, InspectableSessionStore, pairDevice, sessionCookie, sidOf, startSignOn, useFakeDate, useSink } from './support.js';

const sink = useSink();
const clock = useFakeDate();

describe('session id on sign-on', () => {
  it('changes when the code is answered; the old session is gone and held no login', async () => {
    const sessionStore = new InspectableSessionStore();
    const t = createTestApp({
      sink: sink(),
      sessionStore,
      routes: (app) => app.get('/set-return', (req, res) => {
        (req.session as unknown as { returnTo: string }).returnTo = '/account';
        res.send('ok');
      }),
    });
    const alice = t.users[0]!;
    await pairDevice(t, sink(), 'u1', alice.email!);
    const a = agent(t.app);
    const planted = sessionCookie(await a.get('/set-return'))!;
    const { code, cookie: pendingCookie } = await startSignOn(a, sink(), alice);
    // The password step may keep the planted session (nothing is granted yet).
    const before = pendingCookie ?? planted;
    const oldSid = sidOf(before);
    expect(sessionStore.dump()[oldSid].mfa.pending).toMatchObject({ userId: 'u1', stage: 'challenge' });
    const oldToken = csrfOf((await a.get('/mfa/challenge')).text);

    const done = await answer(a, code);
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe('/account');
    const afterCookie = sessionCookie(done);
    expect(afterCookie).toBeDefined();
    const newSid = sidOf(afterCookie!);
    expect(newSid).not.toBe(oldSid);
    expect(newSid).not.toBe(sidOf(planted));

    // The new session: signed on, no pending sign-on, no returnTo, a new CSRF token.
    const sessions = sessionStore.dump();
    expect(sessions[oldSid]).toBeUndefined();
    expect(sessions[newSid].passport.user).toBe('u1');
    expect(sessions[newSid].mfa.auth).toMatchObject({ userId: 'u1', amr: ['pwd', 'otp'] });
    expect(sessions[newSid].mfa.pending).toBeUndefined();
    expect(sessions[newSid].returnTo).toBeUndefined();
    expect(JSON.stringify(sessions[newSid])).not.toContain('"pending"');
    const newToken = csrfOf((await a.get('/mfa/devices')).text);
    expect(newToken).not.toBe(oldToken);

    // The planted (pre-sign-on) cookie is worthless.
    const b = agent(t.app);
    expect((await b.get('/plain').set('Cookie', before)).status).toBe(401);
    expect((await b.get('/account').set('Cookie', before)).headers.location).toBe('/login');
    expect((await a.get('/account')).text).toBe('account of alice');
  });

  it('changes when pairing during sign-on completes it', async () => {
    const sessionStore = new InspectableSessionStore();
    const t = createTestApp({ sink: sink(), sessionStore });
    const a = agent(t.app);
    const loginRes = await login(a, 'bob', 'pw-bob');
    const before = sessionCookie(loginRes)!;
    const after = sink().count();
    await submit(a, '/mfa/enroll', '/mfa/enroll');
    const code = codeOf((await sink().next('bob@example.test', { after })).text);
    const done = await submit(a, '/mfa/enroll', '/mfa/enroll/verify', { otp: code });
    expect(done.status).toBe(303);
    const newSid = sidOf(sessionCookie(done)!);
    expect(newSid).not.toBe(sidOf(before));
    const sessions = sessionStore.dump();
    expect(sessions[sidOf(before)]).toBeUndefined();
    expect(sessions[newSid].mfa.pending).toBeUndefined();
    expect((await agent(t.app).get('/plain').set('Cookie', before)).status).toBe(401);
  });

  it('changes when the policy skips MFA', async () => {
    const t = createTestApp({ sink: sink() });
    const a = agent(t.app);
    const first = sessionCookie(await login(a, 'alice', 'pw-alice'))!; // a pending sign-on (alice must pair)
    expect(first).toBeDefined();
    const res = await login(a, 'root', 'pw-root');
    expect(res.headers.location).toBe('/');
    const cookie = sessionCookie(res)!;
    expect(cookie).toBeDefined();
    expect(sidOf(cookie)).not.toBe(sidOf(first));
    expect((await a.get('/account')).text).toBe('account of root');
    // Nothing of alice's pending sign-on came along.
    expect((await a.get('/mfa/enroll')).headers.location).toBe('/login');
  });

  it('changes on a step-up too, and the step-up brings the user back', async () => {
    clock.install();
    const sessionStore = new InspectableSessionStore();
    const t = createTestApp({ sink: sink(), sessionStore });
    const alice = t.users[0]!;
    await pairDevice(t, sink(), 'u1', alice.email!);
    const a = agent(t.app);
    const { code } = await startSignOn(a, sink(), alice);
    const signed = await answer(a, code);
    const sid1 = sidOf(sessionCookie(signed)!);
    expect((await a.get('/payees')).text).toBe('payees page');

    clock.advance(6 * 60_000);
    const step = await a.get('/payees');
    expect(step.headers.location).toBe('/mfa/challenge');
    expect((await a.get('/account')).text).toBe('account of alice');
    const after = sink().count();
    expect((await submit(a, '/mfa/challenge', '/mfa/challenge/send')).status).toBe(303);
    const stepCode = codeOf((await sink().next(alice.email!, { after })).text);
    const done = await answer(a, stepCode);
    expect(done.headers.location).toBe('/payees');
    const sid2 = sidOf(sessionCookie(done)!);
    expect(sid2).not.toBe(sid1);
    expect(sessionStore.dump()[sid1]).toBeUndefined();
    expect((await a.get('/payees')).text).toBe('payees page');
  });
});
