/**
 * Recovery codes end to end through the pages and the JSON API: offered
 * after the first method, generated after a fresh MFA and shown once, counted
 * on the devices page, and used on /mfa/recovery during a sign-on.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { agent, createTestApp, csrfOf, enrollAndSignOn, login, submit, type Agent, type TestApp, type TestUser } from '../helpers/app.js';
import { SmtpSink } from '../helpers/smtp.js';
import { call, expectError } from '../api/openapi.js';
import { alertOf, fakeClock, isSignedOn, MINUTE, noticeOf, sessionCookie } from './support.js';

const CODE = /\b[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}\b/g;

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

let n = 0;
function newUser(t: TestApp): TestUser {
  n += 1;
  const u: TestUser = { id: `r${n}`, username: `rec${n}`, password: `pw-rec${n}`, email: `rec${n}@example.test` };
  t.users.push(u);
  return u;
}

/** A user signed on (first method paired during sign-on) in a fresh agent. */
async function signedOn(t: TestApp): Promise<{ a: Agent; u: TestUser }> {
  const u = newUser(t);
  const a = agent(t.app);
  expect((await enrollAndSignOn(a, sink, u)).status).toBe(303);
  return { a, u };
}

/** Generates codes on the devices page; returns the codes the page shows. */
async function generateOnPage(a: Agent): Promise<string[]> {
  const res = await submit(a, '/mfa/devices', '/mfa/devices/recovery-codes');
  expect(res.status, res.text).toBe(200);
  expect(res.headers['cache-control']).toBe('no-store');
  return [...res.text.matchAll(CODE)].map((m) => m[0]);
}

/** Password step to the challenge page. */
async function toChallenge(a: Agent, u: TestUser) {
  const res = await login(a, u.username, u.password);
  expect(res.headers.location).toBe('/mfa/challenge');
  return (await a.get('/mfa/challenge')).text;
}

describe('the devices page', () => {
  it('offers recovery codes once the first method is paired, and generates 10 after a fresh MFA, shown once', async () => {
    const t = createTestApp({ sink });
    const { a, u } = await signedOn(t);
    const page = (await a.get('/mfa/devices')).text;
    expect(page).toContain('Recovery codes');
    expect(page).toContain('You have no recovery codes.');
    expect(page).toContain('Generate recovery codes now');
    expect(page).toContain('action="/mfa/devices/recovery-codes"');

    const codes = await generateOnPage(a);
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    expect(await t.auth.recoveryCodes.remaining(u.id)).toBe(10);
    const after = (await a.get('/mfa/devices')).text;
    expect(after).toContain('Recovery codes: 10 left');
    expect(after).not.toContain('Generate recovery codes now');
    // Shown once: the list and the confirmation page show none of them.
    for (const code of codes) expect(after).not.toContain(code);
    expect((await a.get('/mfa/devices/recovery-codes')).text.match(CODE)).toBeNull();
  });

  it('warns when two or fewer are left', async () => {
    const t = createTestApp({ sink });
    const { a, u } = await signedOn(t);
    const codes = await t.auth.recoveryCodes.generate(u.id);
    for (const code of codes.slice(0, 8)) await t.auth.recoveryCodes.use(u.id, code);
    const page = (await a.get('/mfa/devices')).text;
    expect(page).toContain('Recovery codes: 2 left');
    expect(page).toContain('class="mfa-warning"');
  });

  it('a new set needs a recent MFA: a step-up first, then the confirmation page', async () => {
    const clock = fakeClock();
    const t = createTestApp({ sink });
    const { a, u } = await signedOn(t);
    clock.advance(11 * MINUTE);
    const res = await submit(a, '/mfa/devices', '/mfa/devices/recovery-codes');
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/mfa/challenge');
    expect(await t.auth.recoveryCodes.remaining(u.id)).toBe(0);
    const after = sink.count();
    await submit(a, '/mfa/challenge', '/mfa/challenge/send', {});
    const mail = await sink.next(u.email!, { after });
    const done = await submit(a, '/mfa/challenge', '/mfa/challenge', { otp: /\b(\d{6})\b/.exec(mail.text)![1]! });
    expect(done.headers.location).toBe('/mfa/devices/recovery-codes');
    const confirm = await a.get('/mfa/devices/recovery-codes');
    expect(confirm.status).toBe(200);
    expect(confirm.text).toContain('stop working');
    const codes = [...(await a.post('/mfa/devices/recovery-codes').type('form').send({ _mfa_csrf: csrfOf(confirm.text) })).text.matchAll(CODE)];
    expect(codes).toHaveLength(10);
  });

  it('the devices page activation of the first method says that recovery codes come next', async () => {
    const t = createTestApp({ sink, mfa: { policy: { skip: () => true } } });
    const u = newUser(t);
    const a = agent(t.app);
    await login(a, u.username, u.password);
    const after = sink.count();
    const added = await submit(a, '/mfa/devices/add?type=email', '/mfa/devices/add', { email: u.email! });
    const mail = await sink.next(u.email!, { after });
    const done = await submit(a, added.headers.location!, added.headers.location!, { otp: /\b(\d{6})\b/.exec(mail.text)![1]! });
    expect(done.headers.location).toBe('/mfa/devices');
    const page = (await a.get('/mfa/devices')).text;
    expect(noticeOf(page)).toMatch(/Generate recovery codes below/);
    expect(page).toContain('Generate recovery codes now');
  });
});

describe('signing on with a recovery code', () => {
  it('the challenge offers it only when the user has codes; one code signs on, with a new session id and amr otp', async () => {
    const t = createTestApp({ sink });
    const { u } = await signedOn(t);
    const b = agent(t.app);
    expect(await toChallenge(b, u)).not.toContain('Use a recovery code');
    // No codes: the recovery page shows the challenge instead.
    expect((await b.get('/mfa/recovery')).headers.location).toBe('/mfa/challenge');

    const codes = await t.auth.recoveryCodes.generate(u.id);
    const c = agent(t.app);
    const started = await login(c, u.username, u.password);
    const pendingSid = sessionCookie(started);
    expect(pendingSid).toBeDefined();
    const challenge = (await c.get('/mfa/challenge')).text;
    expect(challenge).toContain('href="/mfa/recovery"');
    expect(challenge).toContain('Use a recovery code');
    const page = await c.get('/mfa/recovery');
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/<label for="recoveryCode">/);

    const wrong = await submit(c, '/mfa/recovery', '/mfa/recovery', { recoveryCode: 'zzzz-zzzz-zzzz' });
    expect(wrong.status).toBe(400);
    expect(alertOf(wrong.text)).toBe('That recovery code is not right, or it was already used.');
    expect(wrong.text).toContain('aria-invalid="true"');
    expect(await isSignedOn(c)).toBe(false);

    const done = await submit(c, '/mfa/recovery', '/mfa/recovery', { recoveryCode: codes[0]!.toUpperCase().replaceAll('-', ' ') });
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe('/');
    const signedOnSid = sessionCookie(done);
    expect(signedOnSid).toBeDefined();
    expect(signedOnSid).not.toBe(pendingSid);
    expect(await isSignedOn(c)).toBe(true);
    const completed = t.events.filter((e) => e.type === 'signon.completed' && e.userId === u.id).at(-1)!;
    expect(completed.amr).toEqual(['pwd', 'otp']);
    expect(completed.reason).toBe('recovery');
    expect(t.events.some((e) => e.type === 'recovery.used' && e.userId === u.id)).toBe(true);
    expect(await t.auth.recoveryCodes.remaining(u.id)).toBe(9);
  });

  it('is not reachable without a pending sign-on, and a malformed code is refused without a store step', async () => {
    const t = createTestApp({ sink });
    const { a, u } = await signedOn(t);
    await t.auth.recoveryCodes.generate(u.id);
    expect((await agent(t.app).get('/mfa/recovery')).headers.location).toBe('/login');
    // Signed on already: no pending sign-on.
    expect((await a.get('/mfa/recovery')).headers.location).toBe('/login');
    const b = agent(t.app);
    await toChallenge(b, u);
    const res = await submit(b, '/mfa/recovery', '/mfa/recovery', { recoveryCode: 'not a code' });
    expect(res.status).toBe(400);
    expect(alertOf(res.text)).toBe('Enter a recovery code, such as abcd-efgh-jkmn.');
  });

  it('a user pairing during sign-on (no method yet) cannot use a code: the page sends to pairing', async () => {
    const t = createTestApp({ sink });
    const u = newUser(t);
    await t.auth.recoveryCodes.generate(u.id);
    const a = agent(t.app);
    expect((await login(a, u.username, u.password)).headers.location).toBe('/mfa/enroll');
    expect((await a.get('/mfa/recovery')).headers.location).toBe('/mfa/enroll');
  });

  it('the page is in French too', async () => {
    const t = createTestApp({ sink });
    const { u } = await signedOn(t);
    await t.auth.recoveryCodes.generate(u.id);
    const b = agent(t.app);
    await login(b, u.username, u.password);
    const page = await b.get('/mfa/recovery').set('Accept-Language', 'fr');
    expect(page.text).toContain('Code de secours');
  });
});

describe('the JSON API', () => {
  it('GET answers the count, POST a new set once (201), MFA_REQUIRED without a fresh MFA', async () => {
    const clock = fakeClock();
    const t = createTestApp({ sink });
    const { a, u } = await signedOn(t);
    expect((await call(a, 'get', '/recovery-codes')).body).toEqual({ remaining: 0 });
    const made = await call(a, 'post', '/recovery-codes', {}, {});
    expect(made.status).toBe(201);
    expect(made.body.codes).toHaveLength(10);
    expect((await call(a, 'get', '/recovery-codes')).body).toEqual({ remaining: 10 });
    const again = await call(a, 'post', '/recovery-codes');
    expect(again.status).toBe(201);
    // The earlier set is void.
    await expect(t.auth.recoveryCodes.use(u.id, made.body.codes[0])).rejects.toMatchObject({ code: 'INVALID_OTP' });
    expect((await call(a, 'get', '/recovery-codes')).body).toEqual({ remaining: 10 });

    clock.advance(11 * MINUTE);
    expectError(await call(a, 'post', '/recovery-codes', {}, {}), 401, 'MFA_REQUIRED');
    expect((await call(a, 'get', '/recovery-codes')).status).toBe(200);
    expectError(await call(agent(t.app), 'get', '/recovery-codes'), 401, 'UNAUTHENTICATED');
    expectError(await call(agent(t.app), 'post', '/recovery-codes', {}, {}), 401, 'UNAUTHENTICATED');
  });
});
