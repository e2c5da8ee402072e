/**
 * Trusted browsers through the JSON API: the user's own list (this browser
 * marked current), revoking one or all without a fresh MFA, and an
 * administrator's view and reset of another user's browsers.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { agent, login, signOnTrusting, type Agent, type TestApp, type TestUser } from '../helpers/app.js';
import { SmtpSink } from '../helpers/smtp.js';
import { call, expectError } from './openapi.js';
import { adminWithFreshMfa, appWith, eventsOf, fakeClock, freshUser, MINUTE } from './support.js';

let sink: SmtpSink;
let t: TestApp;
let root: Agent;
beforeAll(async () => {
  sink = await SmtpSink.start();
  t = appWith(sink, { admin: (req) => req.user?.admin === true, policy: { skip: (u) => u.admin === true, trustBrowser: '30d' } });
  root = await adminWithFreshMfa(t, sink);
});
afterAll(async () => {
  await sink.close();
});
afterEach(() => {
  vi.useRealTimers();
});

/** A new user with a device, signed on in two browsers that each trusted themselves; both still signed on. */
async function twoTrusted(): Promise<{ u: TestUser; a: Agent; b: Agent }> {
  const { a, u } = await freshUser(t, sink);
  await a.post('/logout');
  expect((await signOnTrusting(a, sink, u)).status).toBe(303);
  const b = agent(t.app);
  expect((await signOnTrusting(b, sink, u)).status).toBe(303);
  return { u, a, b };
}

async function passwordStep(a: Agent, u: TestUser): Promise<string | undefined> {
  await a.post('/logout');
  return (await login(a, u.username, u.password)).headers.location;
}

describe('GET /trusted-browsers', () => {
  it("lists the user's trusted browsers, the most recently used first, this one marked current", async () => {
    const { a, b } = await twoTrusted();
    const fromA = await call(a, 'get', '/trusted-browsers');
    expect(fromA.status).toBe(200);
    expect(fromA.body.count).toBe(2);
    const [latest, earlier] = fromA.body._embedded.trustedBrowsers;
    expect(latest).toMatchObject({ label: expect.any(String), current: false });
    expect(earlier).toMatchObject({ current: true });
    expect(Date.parse(latest.expiresAt) - Date.parse(latest.createdAt)).toBe(30 * 86_400_000);
    expect(Object.keys(latest).sort()).toEqual(['createdAt', 'current', 'expiresAt', 'id', 'label', 'lastUsedAt']);
    const fromB = await call(b, 'get', '/trusted-browsers');
    expect(fromB.body._embedded.trustedBrowsers.map((x: { current: boolean }) => x.current)).toEqual([true, false]);
  });

  it('is empty for a user who trusts no browser; without a session it is 401', async () => {
    const { a } = await freshUser(t, sink);
    expect((await call(a, 'get', '/trusted-browsers')).body).toEqual({ _embedded: { trustedBrowsers: [] }, count: 0 });
    expectError(await call(agent(t.app), 'get', '/trusted-browsers'), 401, 'UNAUTHENTICATED');
  });
});

describe('DELETE /trusted-browsers/{id} and /trusted-browsers', () => {
  it('revokes one: 204, that browser is asked for MFA again, the other is not; no fresh MFA needed', async () => {
    const clock = fakeClock();
    const { u, a, b } = await twoTrusted();
    clock.advance(11 * MINUTE);
    const list = (await call(a, 'get', '/trusted-browsers')).body._embedded.trustedBrowsers as Array<{ id: string; current: boolean }>;
    const other = list.find((x) => !x.current)!;
    const res = await call(a, 'delete', '/trusted-browsers/{id}', { id: other.id });
    expect(res.status).toBe(204);
    expect(eventsOf(t, u.id).at(-1)).toMatchObject({ type: 'browser.revoked', browserId: other.id, reason: 'user' });
    expect((await call(a, 'get', '/trusted-browsers')).body.count).toBe(1);
    expect(await passwordStep(b, u)).toBe('/mfa/challenge');
    expect(await passwordStep(a, u)).toBe('/');
  });

  it('an unknown id, or one of another user, is 404 NOT_FOUND and revokes nothing', async () => {
    const one = await twoTrusted();
    const two = await twoTrusted();
    const theirs = (await call(two.a, 'get', '/trusted-browsers')).body._embedded.trustedBrowsers[0].id as string;
    expectError(await call(one.a, 'delete', '/trusted-browsers/{id}', { id: theirs }), 404, 'NOT_FOUND');
    expectError(await call(one.a, 'delete', '/trusted-browsers/{id}', { id: 'AAAAAAAAAAAAAAAA' }), 404, 'NOT_FOUND');
    expect((await call(two.a, 'get', '/trusted-browsers')).body.count).toBe(2);
    expect((await call(one.a, 'get', '/trusted-browsers')).body.count).toBe(2);
  });

  it('revokes all: 204, the cookie is cleared, and every browser is asked for MFA again', async () => {
    const { u, a, b } = await twoTrusted();
    const res = await call(a, 'delete', '/trusted-browsers');
    expect(res.status).toBe(204);
    expect(([] as string[]).concat(res.headers['set-cookie'] ?? []).some((c) => c.startsWith('mfa_trust=;'))).toBe(true);
    expect((await call(a, 'get', '/trusted-browsers')).body.count).toBe(0);
    expect(await passwordStep(a, u)).toBe('/mfa/challenge');
    expect(await passwordStep(b, u)).toBe('/mfa/challenge');
  });
});

describe('an administrator and /users/{userId}/trusted-browsers', () => {
  it("lists another user's browsers (none current) and revokes them all", async () => {
    const { u, a, b } = await twoTrusted();
    const list = await call(root, 'get', '/users/{userId}/trusted-browsers', { userId: u.id });
    expect(list.status).toBe(200);
    expect(list.body.count).toBe(2);
    expect(list.body._embedded.trustedBrowsers.every((x: { current: boolean }) => !x.current)).toBe(true);
    expect((await call(root, 'get', '/trusted-browsers')).body.count).toBe(0);
    const res = await call(root, 'delete', '/users/{userId}/trusted-browsers', { userId: u.id });
    expect(res.status).toBe(204);
    expect(eventsOf(t, u.id).at(-1)).toMatchObject({ type: 'browser.revoked', reason: 'admin' });
    expect((await call(a, 'get', '/trusted-browsers')).body.count).toBe(0);
    expect(await passwordStep(a, u)).toBe('/mfa/challenge');
    expect(await passwordStep(b, u)).toBe('/mfa/challenge');
  });

  it('a user who is no administrator gets 403 FORBIDDEN', async () => {
    const { u } = await twoTrusted();
    const { a: mallory } = await freshUser(t, sink);
    expectError(await call(mallory, 'get', '/users/{userId}/trusted-browsers', { userId: u.id }), 403, 'FORBIDDEN');
    expectError(await call(mallory, 'delete', '/users/{userId}/trusted-browsers', { userId: u.id }), 403, 'FORBIDDEN');
    expect((await t.auth.trustedBrowsers.list(u.id)).length).toBe(2);
  });
});
