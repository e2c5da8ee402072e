/**
 * Authenticator apps on the pages: Add method → Authenticator app shows a QR
 * code and the key in groups (the test reads the key off the page and
 * computes codes with its own RFC 6238), the first code activates it; at
 * sign-on the app is offered beside email ("Use another method"), or prompted
 * first when it is the default; the policy's methods decide what is offered
 * and accepted, and deviceSelection 'prompt' lets the user choose first.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { agent, createTestApp, csrfOf, enrollAndSignOn, login, submit, type Agent, type TestApp, type TestUser } from '../helpers/app.js';
import { SmtpSink } from '../helpers/smtp.js';
import { totpCode } from '../helpers/totp.js';
import type { MfaOptions } from '../../src/index.js';
import { alertOf, deviceIdsOf, fakeClock, isSignedOn } from './support.js';

const STEP = 30_000;

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
  const u: TestUser = { id: `app${n}`, username: `app${n}`, password: `pw-app${n}`, email: `app${n}@example.test` };
  t.users.push(u);
  return u;
}

function app(mfa: Partial<MfaOptions<TestUser>> = {}): TestApp {
  return createTestApp({ sink, mfa });
}

/** The clock at the start of a 30-second step, so that a test's few requests stay within it. */
function clockAtStepStart() {
  const clock = fakeClock();
  clock.advance(STEP - (Date.now() % STEP) + 1000);
  return clock;
}

/** The key shown for manual entry, without its spaces. */
function keyOf(html: string): string {
  const match = /<code class="mfa-key" id="mfa-totp-key">([A-Z2-7 ]+)<\/code>/.exec(html);
  if (!match) throw new Error(`no key on the page:\n${html}`);
  return match[1]!.replace(/ /g, '');
}

/** Pairs an app on the pages (the user is signed on with a fresh MFA); returns its key and device id. */
async function pairAppOnPages(a: Agent, nickname?: string): Promise<{ key: string; id: string; page: string }> {
  const choice = await a.get('/mfa/devices/add');
  expect(choice.text).toContain('href="/mfa/devices/add?type=totp"');
  const added = await submit(a, '/mfa/devices/add?type=totp', '/mfa/devices/add', { type: 'totp', ...(nickname ? { nickname } : {}) });
  expect(added.status, added.text).toBe(303);
  const location = added.headers.location as string;
  const id = /^\/mfa\/devices\/([^/]+)\/activate$/.exec(location)![1]!;
  const page = (await a.get(location)).text;
  const key = keyOf(page);
  const done = await submit(a, location, location, { otp: totpCode(key, Date.now()) });
  expect(done.status, done.text).toBe(303);
  expect(done.headers.location).toBe('/mfa/devices');
  return { key, id, page };
}

/** A user signed on (email paired at sign-on) who then paired an app; the clock a step later. */
async function userWithApp(t: TestApp, nickname?: string) {
  const clock = clockAtStepStart();
  const u = newUser(t);
  const a = agent(t.app);
  expect((await enrollAndSignOn(a, sink, u)).status).toBe(303);
  const { key, id } = await pairAppOnPages(a, nickname);
  clock.advance(STEP);
  return { u, key, id, clock };
}

describe('pairing an authenticator app on the pages', () => {
  it('shows a QR code and the key in groups under the strict CSP, and the first code activates the app', async () => {
    const t = app();
    clockAtStepStart();
    const u = newUser(t);
    const a = agent(t.app);
    expect((await enrollAndSignOn(a, sink, u)).status).toBe(303);
    const after = sink.count();
    const { key, id, page } = await pairAppOnPages(a, 'Work phone');
    expect(key).toMatch(/^[A-Z2-7]{32}$/);
    expect(page).toMatch(/<svg[^>]*role="img"[^>]*aria-label="express-mfa: app\d+@example.test"/);
    expect(page).toMatch(/<code class="mfa-key" id="mfa-totp-key">([A-Z2-7]{4} ){7}[A-Z2-7]{4}<\/code>/);
    expect(page).not.toMatch(/<script|\sstyle=|\son[a-z]+=/i);
    const device = (await t.auth.devices.list(u.id)).find((d) => d.id === id)!;
    expect(device).toMatchObject({ type: 'totp', status: 'ACTIVE', nickname: 'Work phone' });
    const list = (await a.get('/mfa/devices')).text;
    expect(list).toContain('Work phone');
    expect(list).toContain('Authenticator app');
    expect(list).not.toContain(key);
    const notice = await sink.next(u.email!, { after, subject: /was added/ });
    expect(notice.text).toContain('Work phone');
  });

  it('a wrong first code shows the page again with the reason; the key is still there', async () => {
    const t = app();
    clockAtStepStart();
    const u = newUser(t);
    const a = agent(t.app);
    expect((await enrollAndSignOn(a, sink, u)).status).toBe(303);
    const added = await submit(a, '/mfa/devices/add?type=totp', '/mfa/devices/add', { type: 'totp' });
    const location = added.headers.location as string;
    const key = keyOf((await a.get(location)).text);
    const right = totpCode(key, Date.now());
    const wrong = await submit(a, location, location, { otp: right === '000000' ? '111111' : '000000' });
    expect(wrong.status).toBe(400);
    expect(alertOf(wrong.text)).toMatch(/not right/);
    expect(keyOf(wrong.text)).toBe(key);
    expect((await submit(a, location, location, { otp: right })).status).toBe(303);
  });

  it('the key is shown only to the session that began the pairing', async () => {
    const t = app();
    const u = newUser(t);
    const a = agent(t.app);
    expect((await enrollAndSignOn(a, sink, u)).status).toBe(303);
    const added = await submit(a, '/mfa/devices/add?type=totp', '/mfa/devices/add', { type: 'totp' });
    const location = added.headers.location as string;
    const key = keyOf((await a.get(location)).text);
    // The same user in another browser: no key, but a new pairing of its own.
    const other = agent(t.app);
    const after = sink.count();
    await login(other, u.username, u.password);
    await submit(other, '/mfa/challenge', '/mfa/challenge', { otp: (await sink.next(u.email!, { after })).text.match(/\b(\d{6})\b/)![1]! });
    const elsewhere = await other.get(location);
    expect(elsewhere.status).toBe(303);
    expect(elsewhere.headers.location).toBe('/mfa/devices/add?type=totp');
    expect(JSON.stringify(elsewhere.headers) + elsewhere.text).not.toContain(key);
  });
});

describe('signing on with an authenticator app', () => {
  it('switches from the emailed code to the app on the challenge page ("Use another method"), with no mail for the app', async () => {
    const t = app();
    const { u, key, id } = await userWithApp(t, 'Phone');
    const a = agent(t.app);
    const after = sink.count();
    await login(a, u.username, u.password);
    await sink.next(u.email!, { after, subject: /sign-on code/ });
    const page = (await a.get('/mfa/challenge')).text;
    expect(page).toContain('Use another method');
    expect(page).toContain('Use Phone');
    expect(deviceIdsOf(page)).toContain(id);
    const switched = await submit(a, '/mfa/challenge', '/mfa/challenge/send', { deviceId: id });
    expect(switched.status).toBe(303);
    const prompt = (await a.get('/mfa/challenge')).text;
    expect(prompt).toContain('Enter the 6-digit code that <strong>Phone</strong> shows.');
    expect(prompt).not.toContain('/mfa/challenge/resend');
    expect(prompt).toMatch(/Send a code to a•+\d@example.test/);
    expect(sink.count()).toBe(after + 1);
    const done = await submit(a, '/mfa/challenge', '/mfa/challenge', { otp: totpCode(key, Date.now()) });
    expect(done.status).toBe(303);
    expect(await isSignedOn(a)).toBe(true);
    expect(t.events.filter((e) => e.userId === u.id && e.type === 'signon.completed').at(-1)).toMatchObject({ amr: ['pwd', 'otp'] });
    expect(t.events.filter((e) => e.userId === u.id && e.type === 'mfa.succeeded').at(-1)).toMatchObject({ deviceId: id });
  });

  it('an app that is the default is prompted at once, sends nothing, and its code answers once', async () => {
    const t = app();
    const { u, key, id, clock } = await userWithApp(t);
    await t.auth.devices.update(u.id, id, { default: true });
    const a = agent(t.app);
    const after = sink.count();
    const res = await login(a, u.username, u.password);
    expect(res.headers.location).toBe('/mfa/challenge');
    const page = (await a.get('/mfa/challenge')).text;
    expect(page).toContain('Enter the 6-digit code your authenticator app shows.');
    expect(page).toMatch(/Send a code to a•+\d@example.test/);
    const code = totpCode(key, Date.now());
    expect((await submit(a, '/mfa/challenge', '/mfa/challenge', { otp: code })).status).toBe(303);
    expect(sink.count()).toBe(after);

    // The same code, in another sign-on within its 30 seconds: refused, as already used.
    const b = agent(t.app);
    await login(b, u.username, u.password);
    const replayed = await submit(b, '/mfa/challenge', '/mfa/challenge', { otp: code });
    expect(replayed.status).toBe(400);
    expect(alertOf(replayed.text)).toMatch(/already used/);
    expect(await isSignedOn(b)).toBe(false);
    clock.advance(STEP);
    expect((await submit(b, '/mfa/challenge', '/mfa/challenge', { otp: totpCode(key, Date.now()) })).status).toBe(303);
    expect(await isSignedOn(b)).toBe(true);
  });

  it('a step-up (required({ maxAge })) can be answered with the app', async () => {
    const t = app({ recentMfa: '1m' });
    const { u, key, id, clock } = await userWithApp(t);
    await t.auth.devices.update(u.id, id, { default: true });
    const a = agent(t.app);
    await login(a, u.username, u.password);
    expect((await submit(a, '/mfa/challenge', '/mfa/challenge', { otp: totpCode(key, Date.now()) })).status).toBe(303);
    clock.advance(10 * 60_000);
    const payees = await a.get('/payees');
    expect(payees.headers.location).toBe('/mfa/challenge');
    const page = (await a.get('/mfa/challenge')).text;
    expect(page).toContain('your authenticator app');
    const done = await submit(a, '/mfa/challenge', '/mfa/challenge', { otp: totpCode(key, Date.now()) });
    expect(done.headers.location).toBe('/payees');
    expect((await a.get('/payees')).text).toBe('payees page');
  });
});

describe("the policy's methods and deviceSelection", () => {
  it("methods: ['email'] neither offers nor accepts the app, nor recovery codes", async () => {
    const t = app({ policy: { skip: (u) => u.admin === true, methods: ['email'] } });
    const { u, key, id } = await userWithApp(t);
    await t.auth.recoveryCodes.generate(u.id);
    await t.auth.devices.update(u.id, id, { default: true });
    const a = agent(t.app);
    const after = sink.count();
    await login(a, u.username, u.password);
    // The app is the default, but not permitted: the email device is prompted.
    await sink.next(u.email!, { after, subject: /sign-on code/ });
    const page = (await a.get('/mfa/challenge')).text;
    expect(deviceIdsOf(page)).not.toContain(id);
    expect(page).not.toContain('Use a recovery code');
    const chosen = await submit(a, '/mfa/challenge', '/mfa/challenge/send', { deviceId: id });
    expect(chosen.status).toBe(400);
    expect(alertOf(chosen.text)).toBe('This method cannot receive codes right now.');
    expect((await submit(a, '/mfa/challenge', '/mfa/challenge', { otp: totpCode(key, Date.now()) })).status).toBe(400);
    expect(await isSignedOn(a)).toBe(false);
    expect((await a.get('/mfa/recovery')).headers.location).toBe('/mfa/challenge');
  });

  it("methods: ['totp'] for a user who has only email: refused, not sent to pair another method with a password alone", async () => {
    const t = app({ policies: { apps: { methods: ['totp'] } } });
    t.app.post('/login-apps', t.auth.authenticate('local', { policy: 'apps', failureRedirect: '/login' } as never));
    const u = newUser(t);
    const a = agent(t.app);
    expect((await enrollAndSignOn(a, sink, u)).status).toBe(303);
    const b = agent(t.app);
    const res = await b.post('/login-apps').type('form').send({ username: u.username, password: u.password });
    expect(res.status).toBe(403);
    expect(await isSignedOn(b)).toBe(false);
  });

  it("deviceSelection 'prompt' lets a user with several methods choose before anything is sent", async () => {
    const t = app({ policy: { skip: (u) => u.admin === true, deviceSelection: 'prompt' } });
    const { u, key, id } = await userWithApp(t);
    const a = agent(t.app);
    const after = sink.count();
    await login(a, u.username, u.password);
    const page = (await a.get('/mfa/challenge')).text;
    expect(page).toContain('Choose how to confirm it is you.');
    expect(page).not.toContain('name="otp"');
    expect(deviceIdsOf(page)).toHaveLength(2);
    expect(sink.count()).toBe(after);
    expect((await submit(a, '/mfa/challenge', '/mfa/challenge/send', { deviceId: id })).status).toBe(303);
    expect((await a.get('/mfa/challenge')).text).toContain('name="otp"');
    expect((await submit(a, '/mfa/challenge', '/mfa/challenge', { otp: totpCode(key, Date.now()) })).status).toBe(303);
    expect(await isSignedOn(a)).toBe(true);
    expect(sink.count()).toBe(after);
  });

  it('a POST of a code before any method was chosen is refused as an ended step, not accepted', async () => {
    const t = app({ policy: { skip: (u) => u.admin === true, deviceSelection: 'prompt' } });
    const { u, key } = await userWithApp(t);
    const a = agent(t.app);
    await login(a, u.username, u.password);
    const html = (await a.get('/mfa/challenge')).text;
    const res = await a.post('/mfa/challenge').type('form').send({ _mfa_csrf: csrfOf(html), otp: totpCode(key, Date.now()) });
    expect(res.status).not.toBe(303);
    expect(await isSignedOn(a)).toBe(false);
  });
});

describe('the device authentication policy of the app method', () => {
  it('enabled: false offers no app to pair, and a paired one neither is offered nor answers', async () => {
    const on = app();
    const { u, key, id } = await userWithApp(on);
    const off = createTestApp({ sink, users: on.users, mfa: { store: on.auth.store, methods: { totp: { enabled: false } } } });
    const a = agent(off.app);
    const after = sink.count();
    await login(a, u.username, u.password);
    await sink.next(u.email!, { after, subject: /sign-on code/ });
    const page = (await a.get('/mfa/challenge')).text;
    expect(deviceIdsOf(page)).not.toContain(id);
    expect((await submit(a, '/mfa/challenge', '/mfa/challenge/send', { deviceId: id })).status).toBe(400);
    expect((await submit(a, '/mfa/challenge', '/mfa/challenge', { otp: totpCode(key, Date.now()) })).status).toBe(400);
    expect(await isSignedOn(a)).toBe(false);
  });

  it('pairingDisabled: true keeps paired apps answering but pairs no new one', async () => {
    const on = app();
    const { u, key, id } = await userWithApp(on);
    await on.auth.devices.update(u.id, id, { default: true });
    const closed = createTestApp({ sink, users: on.users, mfa: { store: on.auth.store, methods: { totp: { pairingDisabled: true } } } });
    const a = agent(closed.app);
    await login(a, u.username, u.password);
    expect((await submit(a, '/mfa/challenge', '/mfa/challenge', { otp: totpCode(key, Date.now()) })).status).toBe(303);
    expect(await isSignedOn(a)).toBe(true);
    // The app is no longer offered, and a POST for one is refused.
    const add = await a.get('/mfa/devices/add');
    expect(add.text).toContain('href="/mfa/devices/add?type=email"');
    expect(add.text).not.toContain('type=totp');
    const refused = await submit(a, '/mfa/devices/add?type=email', '/mfa/devices/add', { type: 'totp' });
    expect(refused.status).toBe(400);
    expect((await closed.auth.devices.list(u.id)).filter((d) => d.type === 'totp')).toHaveLength(1);
  });
});
