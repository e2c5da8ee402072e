/**
 * returnTo is a same-origin path only (no //host, no scheme), checked when it
 * is used: whatever the app put in req.session.returnTo, sign-on never
 * redirects off the site.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { safeReturnTo } from '../../src/http/return-to.js';
import { agent, createTestApp, login, type TestApp } from '../helpers/app.js';
import { answer, pairDevice, startSignOn, useSink } from './support.js';

const sink = useSink();

/** Values that leave the site, or could, in some browser. */
const HOSTILE = [
  '//evil.test',
  '/\\evil.test',
  '\\\\evil.test',
  'https:evil.test',
  'https://evil.test',
  'HTTPS://evil.test/x',
  'javascript:alert(1)',
  '/%2F%2Fevil.test',
  '/%2f%2fevil.test',
  '/%5Cevil.test',
  '/%5cevil.test',
  '/%252F%252Fevil.test',
  '/\t/evil.test',
  '/\n/evil.test',
  '/%09/evil.test',
  '%2F%2Fevil',
  '///evil.test',
  ' //evil.test',
  'evil.test',
  // Dot segments that a URL parser collapses into '//evil.test'.
  '/.//evil.test',
  '/..//evil.test',
  '/x/..//evil.test',
  '/%2e//evil.test',
  '/%2E%2E//evil.test',
];

describe('safeReturnTo (unit)', () => {
  it.each(HOSTILE)('refuses %j, or turns it into a path that stays on this origin', (value) => {
    const result = safeReturnTo(value);
    if (result === undefined) return;
    // Whatever it returns must be a path-absolute reference that a browser resolves on this origin.
    expect(result.startsWith('/')).toBe(true);
    expect(result).not.toMatch(/^\/[/\\]/);
    expect(new URL(result, 'https://app.test').origin).toBe('https://app.test');
  });

  it('keeps good same-origin paths, with query and fragment', () => {
    expect(safeReturnTo('/account')).toBe('/account');
    expect(safeReturnTo('/account?x=1')).toBe('/account?x=1');
    expect(safeReturnTo('/a/b?next=https://evil.test#frag')).toBe('/a/b?next=https://evil.test#frag');
    expect(safeReturnTo('/')).toBe('/');
  });

  it('refuses non-strings, empty and overlong values', () => {
    for (const value of [undefined, null, 42, {}, ['/account'], '', `/${'a'.repeat(5000)}`]) expect(safeReturnTo(value)).toBeUndefined();
  });
});

describe('the redirect after sign-on', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = createTestApp({
      sink: sink(),
      mfa: { limits: { sendLimit: 100 } },
      routes: (app) => {
        app.get('/set-return', (req, res) => {
          (req.session as unknown as { returnTo?: unknown }).returnTo = req.query.to;
          res.send('ok');
        });
      },
    });
    await pairDevice(t, sink(), 'u1', 'alice@example.test');
  });

  async function signOnAfterSetting(to: string, user: 'alice' | 'root' = 'alice') {
    const a = agent(t.app);
    expect((await a.get(`/set-return?to=${encodeURIComponent(to)}`)).text).toBe('ok');
    if (user === 'root') return login(a, 'root', 'pw-root');
    const { code } = await startSignOn(a, sink(), t.users[0]!);
    return answer(a, code);
  }

  it.each(HOSTILE)('after an OTP sign-on, returnTo %j leads to successRedirect or a same-origin path', async (to) => {
    const res = await signOnAfterSetting(to);
    expect(res.status).toBe(303);
    const location = res.headers.location!;
    expect(location.startsWith('/')).toBe(true);
    expect(location).not.toMatch(/^\/[/\\]/);
    expect(new URL(location, 'https://app.test').origin).toBe('https://app.test');
  });

  it.each(['//evil.test', '/\\evil.test', 'https:evil.test', 'https://evil.test', '/%2F%2Fevil.test', '/%5Cevil.test', '/\t/evil.test', '%2F%2Fevil'])(
    'returnTo %j gives exactly "/" (successRedirect)',
    async (to) => {
      expect((await signOnAfterSetting(to)).headers.location).toBe('/');
    },
  );

  it('when MFA is skipped by policy, the same check applies', async () => {
    for (const to of ['//evil.test', 'https://evil.test', '/%5Cevil.test', '/.//evil.test']) {
      const res = await signOnAfterSetting(to, 'root');
      expect(res.status).toBe(303);
      expect(res.headers.location, to).toBe('/');
    }
  });

  it('a good returnTo is honoured, and used only once', async () => {
    const a = agent(t.app);
    await a.get(`/set-return?to=${encodeURIComponent('/account?x=1')}`);
    const { code } = await startSignOn(a, sink(), t.users[0]!);
    expect((await answer(a, code)).headers.location).toBe('/account?x=1');
    await a.post('/logout');
    const again = await startSignOn(a, sink(), t.users[0]!);
    expect((await answer(a, again.code)).headers.location).toBe('/');
  });

  it('auth.required() sends the visitor back to the page asked for', async () => {
    const a = agent(t.app);
    expect((await a.get('/payees')).headers.location).toBe('/login');
    const { code } = await startSignOn(a, sink(), t.users[0]!);
    expect((await answer(a, code)).headers.location).toBe('/payees');
  });
});
