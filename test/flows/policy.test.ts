import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { agent, codeOf, createTestApp, csrfOf, enrollAndSignOn, login, signOn, signOnTrusting, submit, trustCookieOf, type Agent, type TestApp } from '../helpers/app.js';
import { SmtpSink } from '../helpers/smtp.js';
import { alertOf, fakeClock, isSignedOn, MINUTE, sessionCookie } from './support.js';

let sink: SmtpSink;
beforeAll(async () => {
  sink = await SmtpSink.start();
});
afterAll(async () => {
  await sink.close();
});
afterEach(() => {
  vi.useRealTimers();
});

const ALICE = 'alice@example.test';

describe('sign-on policy exceptions', () => {
  it('skips MFA when the skip predicate answers true (the admin), and only then', async () => {
    const t = createTestApp({ sink });
    const a = agent(t.app);
    const visit = await a.get('/account');
    expect(visit.headers.location).toBe('/login');
    const before = sessionCookie(visit);
    expect(before).toBeDefined();
    const after = sink.count();
    const res = await login(a, 'root', 'pw-root');
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/account');
    // A new session id, even without MFA.
    const next = sessionCookie(res);
    expect(next).toBeDefined();
    expect(next).not.toBe(before);
    expect((await a.get('/account')).text).toBe('account of root');
    expect(sink.count()).toBe(after);
    expect(t.events.find((e) => e.type === 'signon.completed')).toMatchObject({ userId: 'u3', amr: ['pwd'], reason: 'skip' });

    const b = agent(t.app);
    expect((await login(b, 'alice', 'pw-alice')).headers.location).toBe('/mfa/enroll');
    expect(await isSignedOn(b)).toBe(false);
  });

  it('skips MFA for a client in skipNetworks (supertest connects from 127.0.0.1)', async () => {
    const t = createTestApp({ sink, mfa: { policy: { skipNetworks: ['127.0.0.0/8'] } } });
    const a = agent(t.app);
    const res = await login(a, 'alice', 'pw-alice');
    expect(res.headers.location).toBe('/');
    expect((await a.get('/account')).text).toBe('account of alice');
    expect(t.events.find((e) => e.type === 'signon.completed')).toMatchObject({ userId: 'u1', amr: ['pwd'], reason: 'network' });
  });

  it('does not skip MFA for a client outside skipNetworks', async () => {
    const t = createTestApp({ sink, mfa: { policy: { skipNetworks: ['10.0.0.0/8'] } } });
    const a = agent(t.app);
    expect((await login(a, 'alice', 'pw-alice')).headers.location).toBe('/mfa/enroll');
    expect(await isSignedOn(a)).toBe(false);
  });

  it('uses the client address from X-Forwarded-For behind a trusted (loopback) proxy, IPv4 and IPv6', async () => {
    const t = createTestApp({ sink, mfa: { policy: { skipNetworks: ['10.0.0.0/8', '2001:db8::/32'] } } });
    const inside = agent(t.app);
    const res = await inside.post('/login').set('X-Forwarded-For', '10.1.2.3').type('form').send({ username: 'alice', password: 'pw-alice' });
    expect(res.headers.location).toBe('/');
    expect(t.events.at(-1)).toMatchObject({ type: 'signon.completed', ip: '10.1.2.3', reason: 'network' });

    const v6 = agent(t.app);
    const res6 = await v6.post('/login').set('X-Forwarded-For', '2001:db8::7').type('form').send({ username: 'alice', password: 'pw-alice' });
    expect(res6.headers.location).toBe('/');

    const outside = agent(t.app);
    const res2 = await outside.post('/login').set('X-Forwarded-For', '192.0.2.1').type('form').send({ username: 'alice', password: 'pw-alice' });
    expect(res2.headers.location).toBe('/mfa/enroll');
  });

  describe('trustBrowser', () => {
    const policy = { skip: (u: { admin?: boolean }) => u.admin === true, trustBrowser: '1h' };

    /** alice pairs her address, signs out, signs on again ticking "Trust this browser", and signs out. */
    async function trusting(t: TestApp, a: Agent) {
      await enrollAndSignOn(a, sink, t.users[0]!);
      await a.post('/logout');
      const done = await signOnTrusting(a, sink, t.users[0]!);
      await a.post('/logout');
      return done;
    }

    it('skips MFA on a later sign-on in a browser trusted at an MFA sign-on (cookie mfa_trust)', async () => {
      const t = createTestApp({ sink, mfa: { policy } });
      const a = agent(t.app);
      const done = await trusting(t, a);
      const cookie = ([] as string[]).concat(done.headers['set-cookie'] ?? []).find((c) => c.startsWith('mfa_trust='));
      expect(cookie).toBeDefined();
      expect(cookie).toMatch(/HttpOnly/i);
      expect(cookie).toMatch(/SameSite=Lax/i);
      expect(cookie).toMatch(/Path=\//);
      expect(cookie).not.toContain('u1');

      expect(await isSignedOn(a)).toBe(false);
      const after = sink.count();
      const again = await login(a, 'alice', 'pw-alice');
      expect(again.headers.location).toBe('/');
      expect(await isSignedOn(a)).toBe(true);
      expect(sink.count()).toBe(after);
      expect(t.events.at(-1)).toMatchObject({ type: 'signon.completed', userId: 'u1', reason: 'trusted', amr: ['pwd'] });
    });

    it('an MFA sign-on without the box ticked trusts nothing', async () => {
      const t = createTestApp({ sink, mfa: { policy } });
      const a = agent(t.app);
      await enrollAndSignOn(a, sink, t.users[0]!);
      await a.post('/logout');
      const done = await signOn(a, sink, t.users[0]!);
      expect(trustCookieOf(done)).toBeUndefined();
      await a.post('/logout');
      expect((await login(a, 'alice', 'pw-alice')).headers.location).toBe('/mfa/challenge');
    });

    it('does not skip MFA in another browser', async () => {
      const t = createTestApp({ sink, mfa: { policy } });
      await trusting(t, agent(t.app));
      const b = agent(t.app);
      expect((await login(b, 'alice', 'pw-alice')).headers.location).toBe('/mfa/challenge');
      expect(await isSignedOn(b)).toBe(false);
    });

    it('does not skip MFA for another user in the same browser', async () => {
      const t = createTestApp({ sink, mfa: { policy } });
      const [, bob] = t.users;
      await enrollAndSignOn(agent(t.app), sink, bob!);
      const a = agent(t.app);
      await trusting(t, a);
      const res = await login(a, 'bob', 'pw-bob');
      expect(res.headers.location).toBe('/mfa/challenge');
      expect(await isSignedOn(a)).toBe(false);
    });

    it('asks for MFA again once trustBrowser has passed', async () => {
      const t = createTestApp({ sink, mfa: { policy } });
      const a = agent(t.app);
      const clock = fakeClock();
      await trusting(t, a);
      clock.advance(61 * MINUTE);
      expect((await login(a, 'alice', 'pw-alice')).headers.location).toBe('/mfa/challenge');
    });

    it('ignores a forged mfa_trust cookie', async () => {
      const t = createTestApp({ sink, mfa: { policy } });
      await trusting(t, agent(t.app));
      const b = agent(t.app);
      const res = await b
        .post('/login')
        .set('Cookie', `mfa_trust=${'A'.repeat(16)}.${'B'.repeat(43)}.${'C'.repeat(43)}`)
        .type('form')
        .send({ username: 'alice', password: 'pw-alice' });
      expect(res.headers.location).toBe('/mfa/challenge');
    });
  });
});

describe('users without a device', () => {
  it("noDevice 'deny' refuses the sign-on with a 403 page", async () => {
    const t = createTestApp({ sink, mfa: { policy: { noDevice: 'deny' } } });
    const a = agent(t.app);
    const res = await login(a, 'alice', 'pw-alice');
    expect(res.status).toBe(403);
    expect(res.type).toBe('text/html');
    expect(alertOf(res.text)).toContain('no authentication method');
    expect(await isSignedOn(a)).toBe(false);
    expect((await a.get('/account')).headers.location).toBe('/login');
    expect((await a.get('/mfa/enroll')).headers.location).toBe('/login');
    expect(t.events.find((e) => e.type === 'signon.refused')).toMatchObject({ userId: 'u1', reason: 'NO_DEVICE' });
    expect(t.events.some((e) => e.type === 'signon.completed')).toBe(false);
  });

  it("noDevice 'deny' still challenges a user who has a device", async () => {
    const t = createTestApp({ sink, mfa: { policy: { noDevice: 'deny' } } });
    const after = sink.count();
    const { device } = await t.auth.devices.create('u1', { email: ALICE });
    const mail = await sink.next(ALICE, { after });
    await t.auth.devices.activate('u1', device.id, codeOf(mail.text));
    const done = await signOn(agent(t.app), sink, t.users[0]!);
    expect(done.status).toBe(303);
  });

  it("noDevice 'bypass' signs on with the password only", async () => {
    const t = createTestApp({ sink, mfa: { policy: { noDevice: 'bypass' } } });
    const a = agent(t.app);
    const res = await login(a, 'alice', 'pw-alice');
    expect(res.headers.location).toBe('/');
    expect((await a.get('/account')).text).toBe('account of alice');
    expect(t.events.find((e) => e.type === 'signon.completed')).toMatchObject({ userId: 'u1', amr: ['pwd'], reason: 'no-device' });
  });
});

describe('named policies', () => {
  it('chooses the policy per login route', async () => {
    const t = createTestApp({
      sink,
      mfa: { policies: { strict: { noDevice: 'deny' } } },
      routes: (app, auth) => {
        app.post('/admin-login', auth.authenticate('local', { policy: 'strict', failureRedirect: '/login' }));
      },
    });
    // The default policy lets the admin skip MFA...
    const a = agent(t.app);
    expect((await login(a, 'root', 'pw-root')).headers.location).toBe('/');
    // ...the strict one does not, and he has no device.
    const b = agent(t.app);
    const res = await b.post('/admin-login').type('form').send({ username: 'root', password: 'pw-root' });
    expect(res.status).toBe(403);
    expect(await isSignedOn(b)).toBe(false);
    expect(t.events.find((e) => e.type === 'signon.refused')).toMatchObject({ userId: 'u3', reason: 'NO_DEVICE' });

    // A user with a device answers a code on either route.
    await enrollAndSignOn(agent(t.app), sink, t.users[0]!);
    const c = agent(t.app);
    const after = sink.count();
    const strict = await c.post('/admin-login').type('form').send({ username: 'alice', password: 'pw-alice' });
    expect(strict.headers.location).toBe('/mfa/challenge');
    const mail = await sink.next(ALICE, { after });
    const done = await submit(c, '/mfa/challenge', '/mfa/challenge', { otp: codeOf(mail.text) });
    expect(done.status).toBe(303);
    expect(await isSignedOn(c)).toBe(true);
  });

  it('authenticate() with an unknown policy name throws a TypeError naming the known ones', () => {
    const t = createTestApp({ sink, mfa: { policies: { strict: {} } } });
    expect(() => t.auth.authenticate('local', { policy: 'strcit' })).toThrow(TypeError);
    expect(() => t.auth.authenticate('local', { policy: 'strcit' })).toThrow(/default, strict/);
  });
});

describe('pairing during sign-on', () => {
  it("enrollAddress 'profile' (default): a posted address is ignored; the profile address gets the code", async () => {
    const t = createTestApp({ sink });
    const a = agent(t.app);
    expect((await login(a, 'alice', 'pw-alice')).headers.location).toBe('/mfa/enroll');
    const page = await a.get('/mfa/enroll');
    expect(page.status).toBe(200);
    expect(page.text).toContain(`value="${ALICE}" readonly`);
    expect(page.text).not.toContain('name="email"');

    const after = sink.count();
    const sent = await a.post('/mfa/enroll').type('form').send({ _mfa_csrf: csrfOf(page.text), email: 'other@x.test' });
    expect(sent.status).toBe(303);
    const mail = await sink.next(ALICE, { after });
    expect(sink.received.slice(after).some((m) => m.to.includes('other@x.test'))).toBe(false);
    const done = await submit(a, '/mfa/enroll', '/mfa/enroll/verify', { otp: codeOf(mail.text) });
    expect(done.status).toBe(303);
    expect((await t.auth.devices.list('u1')).map((d) => d.label)).toEqual([ALICE]);
  });

  it("enrollAddress 'any': the user pairs the address they enter", async () => {
    const t = createTestApp({ sink, mfa: { policy: { enrollAddress: 'any' } } });
    const a = agent(t.app);
    await login(a, 'alice', 'pw-alice');
    const page = await a.get('/mfa/enroll');
    expect(page.text).toContain('name="email"');
    const after = sink.count();
    const sent = await a.post('/mfa/enroll').type('form').send({ _mfa_csrf: csrfOf(page.text), email: 'other@x.test' });
    expect(sent.status).toBe(303);
    const mail = await sink.next('other@x.test', { after });
    expect(sink.received.slice(after).some((m) => m.to.includes(ALICE))).toBe(false);
    const done = await submit(a, '/mfa/enroll', '/mfa/enroll/verify', { otp: codeOf(mail.text) });
    expect(done.status).toBe(303);
    expect(await isSignedOn(a)).toBe(true);
    expect((await t.auth.devices.list('u1')).map((d) => d.label)).toEqual(['other@x.test']);
  });

  it('gives a user with no profile email a clear 403 page', async () => {
    const t = createTestApp({ sink });
    const a = agent(t.app);
    expect((await login(a, 'nomail', 'pw-nomail')).headers.location).toBe('/mfa/enroll');
    const page = await a.get('/mfa/enroll');
    expect(page.status).toBe(403);
    expect(page.text).toContain('Sign-on needs an email address');
    expect(alertOf(page.text)).toContain('no email address');
    expect(await isSignedOn(a)).toBe(false);
    expect((await a.get('/account')).headers.location).toBe('/login');
    expect(t.events.find((e) => e.type === 'signon.refused')).toMatchObject({ userId: 'u4', reason: 'NO_EMAIL' });
  });
});

describe('the password step', () => {
  it('sends a wrong password back to /login with the message in the session', async () => {
    const t = createTestApp({
      sink,
      routes: (app) => {
        app.get('/messages', (req, res) => res.json((req.session as unknown as { messages?: string[] }).messages ?? []));
      },
    });
    const a = agent(t.app);
    const after = sink.count();
    const res = await login(a, 'alice', 'wrong');
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/login');
    expect((await a.get('/messages')).body).toEqual(['Wrong username or password.']);
    expect(await isSignedOn(a)).toBe(false);
    expect((await a.get('/mfa/challenge')).headers.location).toBe('/login');
    expect(sink.count()).toBe(after);
  });
});
