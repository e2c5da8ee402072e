/**
 * A trusted browser (policy.trustBrowser, "Trust this browser" at sign-on)
 * vouches only for a user whose methods have not changed since: adding or
 * removing a method, an administrator blocking a device or resetting the
 * user, and auth.revoke(userId) each end it (every trusted browser of the
 * user is deleted). And it never stands in for a missing or blocked method.
 */
import { describe, expect, it } from 'vitest';
import { agent, codeOf, createTestApp, enrollAndSignOn, login, signOnTrusting, submit, type Agent, type TestApp } from '../helpers/app.js';
import { adminWithFreshMfa } from '../api/support.js';
import { call } from '../api/openapi.js';
import { pairDevice, useSink } from './support.js';
import { alertOf } from '../flows/support.js';

const sink = useSink();
const ADMIN = { admin: (req: { user?: { admin?: boolean } }) => req.user?.admin === true };

/** alice pairs her profile address during a first sign-on in `a`, then signs on again trusting `a`; then signs out. */
async function remembered(mfa: Record<string, unknown> = {}): Promise<{ t: TestApp; a: Agent }> {
  const t = createTestApp({ sink: sink(), mfa: { policy: { skip: (u) => u.admin === true, trustBrowser: '12h' }, ...ADMIN, ...mfa } });
  const a = agent(t.app);
  expect((await enrollAndSignOn(a, sink(), t.users[0]!)).status).toBe(303);
  await a.post('/logout');
  expect((await signOnTrusting(a, sink(), t.users[0]!)).status).toBe(303);
  await a.post('/logout');
  return { t, a };
}

/** alice's trusted browsers, as the app's code sees them. */
async function trustedCount(t: TestApp): Promise<number> {
  return (await t.auth.trustedBrowsers.list('u1')).length;
}

async function passwordStep(a: Agent): Promise<string | undefined> {
  return (await login(a, 'alice', 'pw-alice')).headers.location;
}

describe('the remembered browser still skips MFA while nothing changed', () => {
  it('skips on the password alone', async () => {
    const { a } = await remembered();
    expect(await passwordStep(a)).toBe('/');
  });
});

describe('what ends a trusted browser (each deletes every trusted browser of the user)', () => {
  it('auth.revoke(userId), as on a password change', async () => {
    const { t, a } = await remembered();
    expect(await trustedCount(t)).toBe(1);
    await t.auth.revoke('u1');
    expect(await trustedCount(t)).toBe(0);
    expect(t.events.at(-1)).toMatchObject({ type: 'browser.revoked', userId: 'u1', reason: 'changed' });
    expect(await passwordStep(a)).toBe('/mfa/challenge');
  });

  it("auth.revoke of another user leaves this one's exception alone", async () => {
    const { t, a } = await remembered();
    await t.auth.revoke('u2');
    expect(await passwordStep(a)).toBe('/');
  });

  it('a method added (in another browser or by the app)', async () => {
    const { t, a } = await remembered();
    await pairDevice(t, sink(), 'u1', 'alice.work@example.test');
    expect(await passwordStep(a)).toBe('/mfa/challenge');
  });

  it('a method removed', async () => {
    const { t, a } = await remembered();
    const work = await pairDevice(t, sink(), 'u1', 'alice.work@example.test');
    // Trusted again after the addition, then a removal.
    expect(await passwordStep(a)).toBe('/mfa/challenge');
    const again = agent(t.app);
    expect((await signOnWithCode(again, t, true)).status).toBe(303);
    await again.post('/logout');
    expect(await trustedCount(t)).toBe(1);
    await t.auth.devices.remove('u1', work.id);
    expect(await trustedCount(t)).toBe(0);
    expect(await passwordStep(again)).toBe('/mfa/challenge');
  });

  it("an administrator blocks the user's only device: the remembered browser is refused, as a fresh one is", async () => {
    const { t, a } = await remembered();
    const root = await adminWithFreshMfa(t, sink());
    const [device] = await t.auth.devices.list('u1');
    expect((await call(root, 'patch', '/users/{userId}/devices/{id}', { userId: 'u1', id: device!.id }, { status: 'BLOCKED' })).status).toBe(200);
    expect(await trustedCount(t)).toBe(0);
    const res = await login(a, 'alice', 'pw-alice');
    expect(res.status).toBe(403);
    expect((await a.get('/plain')).status).toBe(401);
    // Unblocked, the device is back, but the old exception is not.
    expect((await call(root, 'patch', '/users/{userId}/devices/{id}', { userId: 'u1', id: device!.id }, { status: 'ACTIVE' })).status).toBe(200);
    expect(await passwordStep(a)).toBe('/mfa/challenge');
  });

  it('an administrator removes all her devices: the remembered browser must pair, as a fresh one must', async () => {
    const { t, a } = await remembered();
    const root = await adminWithFreshMfa(t, sink());
    expect((await call(root, 'delete', '/users/{userId}/devices', { userId: 'u1' })).status).toBe(204);
    expect(await trustedCount(t)).toBe(0);
    expect(await passwordStep(a)).toBe('/mfa/enroll');
    expect((await a.get('/plain')).status).toBe(401);
  });
});

describe('a blocked device gets no codes at all (failed before: "send a new code" still mailed it)', () => {
  it('a sign-on under way: the resend is refused once the device is blocked, and its old code stays dead after an unblock', async () => {
    const t = createTestApp({ sink: sink(), mfa: { ...ADMIN, methods: { email: { resendCooldown: 0 } } } });
    const alice = t.users[0]!;
    const device = await pairDevice(t, sink(), 'u1', alice.email!);
    const a = agent(t.app);
    const after = sink().count();
    await login(a, 'alice', 'pw-alice');
    const code = codeOf((await sink().next(alice.email!, { after })).text);

    const root = await adminWithFreshMfa(t, sink());
    expect((await call(root, 'patch', '/users/{userId}/devices/{id}', { userId: 'u1', id: device.id }, { status: 'BLOCKED' })).status).toBe(200);
    const before = sink().count();
    const resend = await submit(a, '/mfa/challenge', '/mfa/challenge/resend');
    expect(resend.status).toBe(400);
    // Choosing the blocked device to send to: refused as a field of the form, the challenge page shown again.
    const send = await submit(a, '/mfa/challenge', '/mfa/challenge/send', { deviceId: device.id });
    expect(send.status).toBe(400);
    expect(send.type).toBe('text/html');
    expect(send.text).toContain('<h1>Enter your code</h1>');
    expect(alertOf(send.text)).toBe('This method cannot receive codes right now.');
    await new Promise((r) => setTimeout(r, 100));
    expect(sink().received.slice(before).filter((m) => m.to.includes(alice.email!))).toEqual([]);

    expect((await call(root, 'patch', '/users/{userId}/devices/{id}', { userId: 'u1', id: device.id }, { status: 'ACTIVE' })).status).toBe(200);
    const answered = await submit(a, '/mfa/challenge', '/mfa/challenge', { otp: code });
    expect(answered.status).toBe(400);
    expect((await a.get('/plain')).status).toBe(401);
  });
});

/** A sign-on of alice with a code from her default address, in `a`; `trust`: ticking "Trust this browser". */
async function signOnWithCode(a: Agent, t: TestApp, trust = false) {
  const alice = t.users[0]!;
  const after = sink().count();
  expect((await login(a, 'alice', 'pw-alice')).headers.location).toBe('/mfa/challenge');
  const code = codeOf((await sink().next(alice.email!, { after })).text);
  return submit(a, '/mfa/challenge', '/mfa/challenge', { otp: code, ...(trust ? { trustBrowser: '1' } : {}) });
}
