/**
 * Trusted browsers ("Trust this browser" at the end of an MFA sign-on): the
 * next sign-ons of that browser skip MFA until the trust expires or is
 * revoked. A cookie of one user proves nothing for another, and an old
 * token coming back (a copy used after the original, or the other way
 * round) ends the trust.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { agent, codeOf, createTestApp, enrollAndSignOn, login, signOnTrusting, submit, trustCookieOf, type Agent, type TestApp, type TestUser } from '../helpers/app.js';
import { SmtpSink } from '../helpers/smtp.js';
import { fakeClock, isSignedOn, MINUTE, noticeOf } from './support.js';

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

const CHROME_MAC = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
const FIREFOX_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0';
const DAY = 86_400_000;
const CHECKBOX = '<input type="checkbox" name="trustBrowser" value="1"';

function app(trustBrowser: string | false = '30d', extra: Record<string, unknown> = {}): TestApp {
  return createTestApp({ sink, mfa: { policy: { skip: (u) => u.admin === true, ...(trustBrowser ? { trustBrowser } : {}) }, ...extra } });
}

/** A browser with a User-Agent of its own. */
function browser(t: TestApp, userAgent = CHROME_MAC): Agent {
  const a = agent(t.app);
  a.set('User-Agent', userAgent);
  return a;
}

/** The user pairs their address in a first sign-on (elsewhere), then signs on in `a` trusting it; signs out. Returns the cookie value. */
async function trusted(t: TestApp, a: Agent, user: TestUser, paired = false): Promise<string> {
  if (!paired) {
    const first = agent(t.app);
    expect((await enrollAndSignOn(first, sink, user)).status).toBe(303);
  }
  const done = await signOnTrusting(a, sink, user);
  expect(done.status).toBe(303);
  const cookie = trustCookieOf(done);
  expect(cookie).toMatch(/^[\w-]{16}\.[\w-]{43}\.[\w-]{43}$/);
  await a.post('/logout');
  return cookie!;
}

/** The password step alone: where it leads. */
async function passwordStep(a: Agent, user: TestUser): Promise<string | undefined> {
  return (await login(a, user.username, user.password)).headers.location;
}

describe('trusting a browser at sign-on', () => {
  it('the next sign-on of that browser skips MFA: no mail, amr pwd, reason trusted; the cookie is rotated', async () => {
    const t = app();
    const alice = t.users[0]!;
    const a = browser(t);
    const first = await trusted(t, a, alice);
    expect(t.events.find((e) => e.type === 'browser.trusted')).toMatchObject({ userId: 'u1', browserId: first.split('.')[0] });

    const after = sink.count();
    const res = await login(a, 'alice', 'pw-alice');
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/');
    expect(await isSignedOn(a)).toBe(true);
    expect(sink.count()).toBe(after);
    expect(t.events.at(-1)).toMatchObject({ type: 'signon.completed', userId: 'u1', reason: 'trusted', amr: ['pwd'] });
    // Same browser, new token.
    const rotated = trustCookieOf(res);
    expect(rotated).toBeDefined();
    expect(rotated!.split('.')[0]).toBe(first.split('.')[0]);
    expect(rotated).not.toBe(first);
    const header = ([] as string[]).concat(res.headers['set-cookie'] ?? []).find((c) => c.startsWith('mfa_trust='))!;
    expect(header).toMatch(/HttpOnly/i);
    expect(header).toMatch(/SameSite=Lax/i);
    expect(header).toMatch(/Max-Age=\d+/);

    // And again, with the rotated cookie.
    await a.post('/logout');
    expect(await passwordStep(a, alice)).toBe('/');
  });

  it('the devices page lists it by its User-Agent, marked "This browser", with when it was last used and expires', async () => {
    const t = app();
    const alice = t.users[0]!;
    const a = browser(t);
    await trusted(t, a, alice);
    const other = browser(t, FIREFOX_WINDOWS);
    await trusted(t, other, alice, true);
    expect(await passwordStep(a, alice)).toBe('/');
    const page = (await a.get('/mfa/devices')).text;
    expect(page).toContain('<section class="mfa-trusted" aria-labelledby="mfa-trusted-title">');
    expect(page).toContain('<h2 id="mfa-trusted-title">Trusted browsers</h2>');
    expect(page).toContain('<strong>Chrome on macOS</strong>');
    expect(page).toContain('<strong>Firefox on Windows</strong>');
    expect(page.match(/This browser/g)).toHaveLength(1);
    // The one used last comes first, and it is this one.
    expect(page.indexOf('Chrome on macOS')).toBeLessThan(page.indexOf('Firefox on Windows'));
    expect(page.indexOf('This browser')).toBeLessThan(page.indexOf('Firefox on Windows'));
    expect(page).toMatch(/Last used .+ · expires .+/);
    expect(page).toContain('action="/mfa/devices/trusted/revoke-all"');
    const list = await t.auth.trustedBrowsers.list('u1');
    expect(list.map((b) => b.label)).toEqual(['Chrome on macOS', 'Firefox on Windows']);
    expect(list[0]!.expiresAt.getTime() - list[0]!.createdAt.getTime()).toBe(30 * DAY);
  });

  it('the French page formats the dates in French', async () => {
    const t = app();
    const alice = t.users[0]!;
    const a = browser(t);
    await trusted(t, a, alice);
    expect(await passwordStep(a, alice)).toBe('/');
    const page = (await a.get('/mfa/devices').set('Accept-Language', 'fr')).text;
    expect(page).toContain('Navigateurs de confiance');
    expect(page).toContain('Ce navigateur');
    const expires = (await t.auth.trustedBrowsers.list('u1'))[0]!.expiresAt;
    const french = new Intl.DateTimeFormat('fr', { dateStyle: 'medium', timeStyle: 'short' }).format(expires);
    expect(page).toContain(french.replace(/'/g, '&#39;'));
  });

  it('a browser that sends no User-Agent is "A browser"', async () => {
    const t = app();
    const a = agent(t.app);
    await trusted(t, a, t.users[0]!);
    expect((await t.auth.trustedBrowsers.list('u1'))[0]!.label).toBe('A browser');
  });

  it('a sign-on with a recovery code can trust the browser too', async () => {
    const t = app();
    const alice = t.users[0]!;
    await enrollAndSignOn(agent(t.app), sink, alice);
    const [code] = await t.auth.recoveryCodes.generate('u1');
    const a = browser(t);
    expect(await passwordStep(a, alice)).toBe('/mfa/challenge');
    const page = (await a.get('/mfa/recovery')).text;
    expect(page).toContain(CHECKBOX);
    expect(page).toContain('Trust this browser for 30 days');
    const done = await submit(a, '/mfa/recovery', '/mfa/recovery', { recoveryCode: code!, trustBrowser: '1' });
    expect(done.status).toBe(303);
    expect(trustCookieOf(done)).toBeDefined();
    await a.post('/logout');
    expect(await passwordStep(a, alice)).toBe('/');
  });

  it('says hours for a trust shorter than a day', async () => {
    const t = app('12h');
    const alice = t.users[0]!;
    await enrollAndSignOn(agent(t.app), sink, alice);
    const a = agent(t.app);
    expect(await passwordStep(a, alice)).toBe('/mfa/challenge');
    expect((await a.get('/mfa/challenge')).text).toContain('Trust this browser for 12 hours');
  });
});

describe('no trust where none is offered', () => {
  it('no checkbox when the policy has no trustBrowser, and a posted trustBrowser=1 trusts nothing', async () => {
    const t = app(false);
    const alice = t.users[0]!;
    await enrollAndSignOn(agent(t.app), sink, alice);
    await t.auth.recoveryCodes.generate('u1');
    const a = agent(t.app);
    const after = sink.count();
    expect(await passwordStep(a, alice)).toBe('/mfa/challenge');
    const page = (await a.get('/mfa/challenge')).text;
    expect(page).not.toContain('trustBrowser');
    expect((await a.get('/mfa/recovery')).text).not.toContain('trustBrowser');
    const code = codeOf((await sink.next(alice.email!, { after })).text);
    const done = await submit(a, '/mfa/challenge', '/mfa/challenge', { otp: code, trustBrowser: '1' });
    expect(done.status).toBe(303);
    expect(trustCookieOf(done)).toBeUndefined();
    expect(await t.auth.trustedBrowsers.list('u1')).toEqual([]);
    await a.post('/logout');
    expect(await passwordStep(a, alice)).toBe('/mfa/challenge');
  });

  it('a step-up never creates trust: no checkbox, and trustBrowser=1 posted is ignored', async () => {
    const t = app();
    const alice = t.users[0]!;
    const a = browser(t);
    const clock = fakeClock();
    expect((await enrollAndSignOn(a, sink, alice)).status).toBe(303);
    clock.advance(6 * MINUTE);
    const after = sink.count();
    const start = await a.get('/payees');
    expect(start.headers.location).toBe('/mfa/challenge');
    expect((await submit(a, '/mfa/challenge', '/mfa/challenge/send')).status).toBe(303);
    const page = (await a.get('/mfa/challenge')).text;
    expect(page).toContain('<form method="post" action="/mfa/challenge"');
    expect(page).not.toContain('trustBrowser');
    const code = codeOf((await sink.next(alice.email!, { after })).text);
    const done = await submit(a, '/mfa/challenge', '/mfa/challenge', { otp: code, trustBrowser: '1' });
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe('/payees');
    expect(trustCookieOf(done)).toBeUndefined();
    expect(await t.auth.trustedBrowsers.list('u1')).toEqual([]);
    expect(t.events.some((e) => e.type === 'browser.trusted')).toBe(false);
  });
});

describe('the end of trust', () => {
  it('expires: after trustBrowser has passed, MFA is asked again and the browser is no longer listed', async () => {
    const t = app('1d');
    const alice = t.users[0]!;
    const a = browser(t);
    const clock = fakeClock();
    await trusted(t, a, alice);
    clock.advance(DAY - MINUTE);
    expect(await passwordStep(a, alice)).toBe('/');
    await a.post('/logout');
    // Using it does not extend it.
    clock.advance(2 * MINUTE);
    expect(await t.auth.trustedBrowsers.list('u1')).toEqual([]);
    const res = await login(a, 'alice', 'pw-alice');
    expect(res.headers.location).toBe('/mfa/challenge');
  });

  it('revoking one on the devices page: that browser is asked for MFA again, the others are not', async () => {
    const t = app();
    const alice = t.users[0]!;
    const a = browser(t);
    await trusted(t, a, alice);
    const b = browser(t, FIREFOX_WINDOWS);
    await trusted(t, b, alice, true);
    expect(await passwordStep(b, alice)).toBe('/');
    const chrome = (await t.auth.trustedBrowsers.list('u1')).find((x) => x.label === 'Chrome on macOS')!;
    const revoked = await submit(b, '/mfa/devices', `/mfa/devices/trusted/${chrome.id}/revoke`);
    expect(revoked.status).toBe(303);
    expect(revoked.headers.location).toBe('/mfa/devices');
    // Another browser's record: this one's cookie stays.
    expect(trustCookieOf(revoked)).toBeUndefined();
    expect(noticeOf((await b.get('/mfa/devices')).text)).toBe('Chrome on macOS is no longer trusted.');
    expect(t.events.at(-1)).toMatchObject({ type: 'browser.revoked', userId: 'u1', browserId: chrome.id, reason: 'user' });
    expect(await passwordStep(a, alice)).toBe('/mfa/challenge');
    await b.post('/logout');
    expect(await passwordStep(b, alice)).toBe('/');
  });

  it('revoking this browser clears its cookie; an unknown id is a 404 on the page', async () => {
    const t = app();
    const alice = t.users[0]!;
    const a = browser(t);
    await trusted(t, a, alice);
    expect(await passwordStep(a, alice)).toBe('/');
    const [own] = await t.auth.trustedBrowsers.list('u1');
    const missing = await submit(a, '/mfa/devices', '/mfa/devices/trusted/AAAAAAAAAAAAAAAA/revoke');
    expect(missing.status).toBe(404);
    expect(missing.text).toContain('No such trusted browser.');
    const revoked = await submit(a, '/mfa/devices', `/mfa/devices/trusted/${own!.id}/revoke`);
    expect(revoked.status).toBe(303);
    expect(trustCookieOf(revoked)).toBe('');
    await a.post('/logout');
    expect(await passwordStep(a, alice)).toBe('/mfa/challenge');
  });

  it('"Revoke all" on the devices page: every browser of the user is asked for MFA again', async () => {
    const t = app();
    const alice = t.users[0]!;
    const a = browser(t);
    await trusted(t, a, alice);
    const b = browser(t, FIREFOX_WINDOWS);
    await trusted(t, b, alice, true);
    expect(await passwordStep(b, alice)).toBe('/');
    const res = await submit(b, '/mfa/devices', '/mfa/devices/trusted/revoke-all');
    expect(res.status).toBe(303);
    expect(noticeOf((await b.get('/mfa/devices')).text)).toContain('No browser is trusted any more');
    expect((await b.get('/mfa/devices')).text).toContain('You trust no browser.');
    await b.post('/logout');
    expect(await passwordStep(a, alice)).toBe('/mfa/challenge');
    expect(await passwordStep(b, alice)).toBe('/mfa/challenge');
  });

  it("a cookie stolen from alice's browser proves nothing for bob: bob must answer MFA, and alice's trust stays", async () => {
    const t = app();
    const [alice, bob] = t.users;
    const a = browser(t);
    const stolen = await trusted(t, a, alice!);
    await enrollAndSignOn(agent(t.app), sink, bob!);
    const b = agent(t.app);
    const after = sink.count();
    const res = await b.post('/login').set('Cookie', `mfa_trust=${stolen}`).type('form').send({ username: 'bob', password: 'pw-bob' });
    expect(res.headers.location).toBe('/mfa/challenge');
    expect(await isSignedOn(b)).toBe(false);
    expect(await sink.next(bob!.email!, { after })).toBeDefined();
    // Refused on its signature: nothing was spent, alice's browser is still trusted.
    expect(await passwordStep(a, alice!)).toBe('/');
  });

  it('an old cookie replayed after the rotation is refused, and ends the trust: the rotated one no longer works either', async () => {
    const t = app();
    const alice = t.users[0]!;
    const a = browser(t);
    const old = await trusted(t, a, alice);
    // The rightful browser signs on: its token rotates.
    const used = await login(a, 'alice', 'pw-alice');
    expect(used.headers.location).toBe('/');
    expect(trustCookieOf(used)).not.toBe(old);
    await a.post('/logout');

    // A copy of the old cookie comes back.
    const thief = agent(t.app);
    const after = sink.count();
    const replay = await thief.post('/login').set('Cookie', `mfa_trust=${old}`).type('form').send({ username: 'alice', password: 'pw-alice' });
    expect(replay.headers.location).toBe('/mfa/challenge');
    expect(trustCookieOf(replay)).toBe('');
    expect(await sink.next(alice.email!, { after })).toBeDefined();
    expect(t.events.find((e) => e.type === 'browser.revoked')).toMatchObject({ userId: 'u1', reason: 'replayed', browserId: old.split('.')[0] });
    expect(await t.auth.trustedBrowsers.list('u1')).toEqual([]);
    // The record is gone: the rotated cookie no longer skips MFA.
    const res = await login(a, 'alice', 'pw-alice');
    expect(res.headers.location).toBe('/mfa/challenge');
    expect(trustCookieOf(res)).toBe('');
  });

  it('a well-formed cookie of an unknown browser is cleared; a malformed one reads nothing from the store', async () => {
    const t = app();
    const alice = t.users[0]!;
    const a = browser(t);
    const cookie = await trusted(t, a, alice);
    await t.auth.trustedBrowsers.revokeAll('u1');
    const res = await login(a, 'alice', 'pw-alice');
    expect(res.headers.location).toBe('/mfa/challenge');
    expect(trustCookieOf(res)).toBe('');
    expect(t.events.find((e) => e.type === 'browser.revoked')).toMatchObject({ reason: 'admin' });

    const store = t.auth.store;
    const use = vi.spyOn(store, 'useTrustedBrowser');
    const list = vi.spyOn(store, 'listTrustedBrowsers');
    for (const value of [`${cookie}x`, cookie.replace('.', ''), 'nonsense', `${cookie.split('.')[0]}.${cookie.split('.')[1]}.${'A'.repeat(43)}`]) {
      const c = agent(t.app);
      expect((await c.post('/login').set('Cookie', `mfa_trust=${value}`).type('form').send({ username: 'alice', password: 'pw-alice' })).headers.location).toBe('/mfa/challenge');
    }
    expect(use).not.toHaveBeenCalled();
    expect(list).not.toHaveBeenCalled();
  });
});
