/**
 * Authenticator apps (TOTP) through the JSON API: pairing (201 with the
 * secret and key URI once), activation by the first code, step-up with a code
 * that answers once per device, one step of drift either way, and wrong codes
 * counted toward the user's lockout. Codes are computed by the tests' own
 * RFC 6238 implementation (test/helpers/totp.ts), not the library's.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { SmtpSink } from '../helpers/smtp.js';
import { totpCode } from '../helpers/totp.js';
import { call, expectError } from './openapi.js';
import { adminWithFreshMfa, appWith, fakeClock, freshUser, mailsSince } from './support.js';
import type { Agent, TestApp } from '../helpers/app.js';

let sink: SmtpSink;
let t: TestApp;
beforeAll(async () => {
  sink = await SmtpSink.start();
  t = appWith(sink, { admin: (req) => req.user?.admin === true, limits: { lockAfter: 6, sendLimit: 50 } });
});
afterAll(async () => {
  await sink.close();
});
afterEach(() => {
  vi.useRealTimers();
});

const STEP = 30_000;

/** Starts at the beginning of a 30-second step, so that a test's few requests stay within it. */
function clockAtStepStart() {
  const clock = fakeClock();
  clock.advance(STEP - (Date.now() % STEP) + 1000);
  return clock;
}

async function addApp(a: Agent, nickname?: string) {
  const res = await call(a, 'post', '/devices', {}, { type: 'totp', ...(nickname === undefined ? {} : { nickname }) });
  expect(res.status, res.text).toBe(201);
  return res;
}

/** A user with an email device (paired at sign-on) and an active app; the clock at the start of a step after activation. */
async function userWithApp() {
  const clock = clockAtStepStart();
  const user = await freshUser(t, sink, 'totp');
  const created = await addApp(user.a);
  const secret = created.body.secret as string;
  const activated = await call(user.a, 'post', '/devices/{id}/activate', { id: created.body.id }, { otp: totpCode(secret, Date.now()) });
  expect(activated.status, activated.text).toBe(200);
  clock.advance(STEP);
  return { ...user, clock, secret, id: created.body.id as string };
}

describe('pairing an authenticator app', () => {
  it('answers 201 ACTIVATION_REQUIRED with the secret and an otpauth:// key URI, in that answer only', async () => {
    const { a, u } = await freshUser(t, sink, 'totp');
    const res = await addApp(a, 'Phone');
    expect(res.body).toMatchObject({ type: 'totp', status: 'ACTIVATION_REQUIRED', nickname: 'Phone', default: false });
    expect(res.body.secret).toMatch(/^[A-Z2-7]{32}$/);
    const uri = new URL(res.body.keyUri);
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(decodeURIComponent(uri.pathname)).toBe(`/express-mfa:${u.email}`);
    expect(uri.searchParams.get('secret')).toBe(res.body.secret);
    expect(uri.searchParams.get('issuer')).toBe('express-mfa');
    expect(uri.searchParams.get('algorithm')).toBe('SHA1');
    expect(uri.searchParams.get('digits')).toBe('6');
    expect(uri.searchParams.get('period')).toBe('30');

    // Never again: not in the device, not in the list.
    const one = await call(a, 'get', '/devices/{id}', { id: res.body.id });
    const list = await call(a, 'get', '/devices');
    for (const later of [one.text, list.text]) {
      expect(later).not.toContain(res.body.secret);
      expect(later).not.toContain('otpauth');
    }
    expect(one.body).not.toHaveProperty('secret');
  });

  it('activates with the first code the app shows, refuses a wrong one, and tells the user by email', async () => {
    clockAtStepStart();
    const { a, u } = await freshUser(t, sink, 'totp');
    const created = await addApp(a);
    const secret = created.body.secret as string;
    const right = totpCode(secret, Date.now());
    const wrong = right === '000000' ? '111111' : '000000';
    expectError(await call(a, 'post', '/devices/{id}/activate', { id: created.body.id }, { otp: wrong }), 400, 'INVALID_OTP');
    expectError(await call(a, 'post', '/devices/{id}/activate', { id: created.body.id }, { otp: '12345' }), 400, 'VALIDATION_FAILED', { field: 'otp' });
    const after = sink.count();
    const activated = await call(a, 'post', '/devices/{id}/activate', { id: created.body.id }, { otp: right });
    expect(activated.status, activated.text).toBe(200);
    expect(activated.body).toMatchObject({ type: 'totp', status: 'ACTIVE', default: false });
    const notice = await sink.next(u.email!, { after, subject: /was added/ });
    expect(notice.text).toContain('Authenticator app');
    expect(notice.text).not.toContain(secret);
  });

  it('an app sends nothing: resend is refused, and pairing again replaces an unfinished pairing', async () => {
    const { a } = await freshUser(t, sink, 'totp');
    const first = await addApp(a);
    expectError(await call(a, 'post', '/devices/{id}/resend', { id: first.body.id }), 400, 'VALIDATION_FAILED', { field: 'deviceId' });
    const second = await addApp(a);
    expect(second.body.secret).not.toBe(first.body.secret);
    const ids = (await call(a, 'get', '/devices')).body._embedded.devices.map((d: { id: string }) => d.id);
    expect(ids).toContain(second.body.id);
    expect(ids).not.toContain(first.body.id);
    // The first secret's codes activate nothing any more.
    expectError(await call(a, 'post', '/devices/{id}/activate', { id: first.body.id }, { otp: totpCode(first.body.secret, Date.now()) }), 404, 'NOT_FOUND');
  });

  it('an administrator can neither pair an app for a user nor add one as ACTIVE: its secret is the user\'s alone', async () => {
    const admin = await adminWithFreshMfa(t, sink);
    const { u } = await freshUser(t, sink, 'totp');
    const paired = await call(admin, 'post', '/users/{userId}/devices', { userId: u.id }, { type: 'totp' });
    expectError(paired, 400, 'VALIDATION_FAILED', { field: 'type' });
    expect(paired.text).not.toMatch(/otpauth|secret"/);
    expect((await t.auth.devices.list(u.id)).filter((d) => d.type === 'totp')).toEqual([]);
  });

  it('refuses a type that is no method, naming the ones there are', async () => {
    const { a } = await freshUser(t, sink, 'totp');
    const res = await call(a, 'post', '/devices', {}, { type: 'sms' });
    expectError(res, 400, 'VALIDATION_FAILED', { field: 'type' });
    expect(res.body.message).toContain("'email', 'totp'");
  });
});

describe('answering with an authenticator app', () => {
  it('a step-up through the app sends nothing, and its code answers once', async () => {
    const { a, u, secret, id } = await userWithApp();
    const before = sink.count();
    const started = await call(a, 'post', '/authentications', {}, { deviceId: id });
    expect(started.status, started.text).toBe(201);
    expect(started.body).toEqual({ id: started.body.id, status: 'OTP_REQUIRED', device: { id, type: 'totp' } });
    const code = totpCode(secret, Date.now());
    const done = await call(a, 'post', '/authentications/{id}/otp', { id: started.body.id }, { otp: code });
    expect(done.status, done.text).toBe(200);
    expect(done.body.device).toEqual({ id, type: 'totp' });
    // The same code again, even in a new authentication: refused, and counted.
    const again = await call(a, 'post', '/authentications', {}, { deviceId: id });
    const replayed = await call(a, 'post', '/authentications/{id}/otp', { id: again.body.id }, { otp: code });
    expectError(replayed, 400, 'INVALID_OTP');
    expect(replayed.body.message).toMatch(/already used/);
    expect(mailsSince(sink, before).filter((m) => m.to.includes(u.email!))).toEqual([]);
    expect(t.events.filter((e) => e.userId === u.id && e.type === 'mfa.failed').at(-1)).toMatchObject({ deviceId: id, reason: 'INVALID_OTP' });
  });

  it('twenty parallel answers with one code complete one authentication', async () => {
    const { a, secret, id } = await userWithApp();
    const started = await Promise.all(Array.from({ length: 20 }, () => call(a, 'post', '/authentications', {}, { deviceId: id })));
    const code = totpCode(secret, Date.now());
    const answers = await Promise.all(started.map((s) => call(a, 'post', '/authentications/{id}/otp', { id: s.body.id }, { otp: code })));
    // The one that completes gives the session a new id: the others find theirs gone, or the code spent.
    expect(answers.filter((r) => r.status === 200), answers.map((r) => `${r.status} ${r.text}`).join('\n')).toHaveLength(1);
    expect(answers.every((r) => r.status === 200 || ['INVALID_OTP', 'LOCKED', 'UNAUTHENTICATED'].includes(r.body.code))).toBe(true);
  });

  it('twenty parallel verifications of one code through the programmatic API: one resolves', async () => {
    const { u, secret, id } = await userWithApp();
    const started = await t.auth.challenges.start(u.id, { deviceId: id });
    const code = totpCode(secret, Date.now());
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => t.auth.challenges.verify(u.id, started.id, code)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refusals = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => (r.reason as { code: string }).code);
    expect(refusals).toHaveLength(19);
    expect(refusals.every((c) => c === 'INVALID_OTP' || c === 'LOCKED')).toBe(true);
  });

  it('accepts the code of one step before or after, and refuses two steps away', async () => {
    const { a, secret, id, clock } = await userWithApp();
    // The step before now is past the one the activation used.
    clock.advance(STEP);
    const answer = async (offsetSteps: number) => {
      const started = await call(a, 'post', '/authentications', {}, { deviceId: id });
      return call(a, 'post', '/authentications/{id}/otp', { id: started.body.id }, { otp: totpCode(secret, Date.now() + offsetSteps * STEP) });
    };
    expectError(await answer(-2), 400, 'INVALID_OTP');
    expectError(await answer(2), 400, 'INVALID_OTP');
    expect((await answer(-1)).status).toBe(200);
    expect((await answer(1)).status).toBe(200);
    // Once the step after was used, the current one is past: a code answers forward only.
    expectError(await answer(0), 400, 'INVALID_OTP');
    clock.advance(2 * STEP);
    expect((await answer(0)).status).toBe(200);
  });

  it('wrong app codes count toward the user\'s lockout, with wrong emailed codes, and a lock refuses the right code', async () => {
    const { a, secret, id } = await userWithApp();
    const started = await call(a, 'post', '/authentications', {}, { deviceId: id });
    const right = totpCode(secret, Date.now());
    const wrong = right === '000000' ? '111111' : '000000';
    for (let i = 0; i < 5; i++) expectError(await call(a, 'post', '/authentications/{id}/otp', { id: started.body.id }, { otp: wrong }), 400, 'INVALID_OTP');
    const locking = await call(a, 'post', '/authentications/{id}/otp', { id: started.body.id }, { otp: wrong });
    expectError(locking, 423, 'LOCKED');
    expectError(await call(a, 'post', '/authentications/{id}/otp', { id: started.body.id }, { otp: right }), 423, 'LOCKED');
  });

  it('an app answers only for its own user: another user\'s device id is NOT_FOUND', async () => {
    const alice = await userWithApp();
    const bob = await freshUser(t, sink, 'totp');
    const started = await call(bob.a, 'post', '/authentications', {}, { deviceId: alice.id });
    expectError(started, 404, 'NOT_FOUND');
    const forged = `${Buffer.from(bob.u.id).toString('base64url')}.d.${alice.id}`;
    const res = await call(bob.a, 'post', '/authentications/{id}/otp', { id: forged }, { otp: totpCode(alice.secret, Date.now()) });
    expect(res.status).toBe(400);
    expect(res.body.code).not.toBe('COMPLETED');
    expect((await call(alice.a, 'post', '/authentications/{id}/otp', {
      id: `${Buffer.from(alice.u.id).toString('base64url')}.d.${alice.id}`,
    }, { otp: totpCode(alice.secret, Date.now()) })).status).toBe(200);
  });

  it('the app can be the default: a step-up without a deviceId then sends no mail', async () => {
    const { a, u, id } = await userWithApp();
    expect((await call(a, 'patch', '/devices/{id}', { id }, { default: true })).status).toBe(200);
    const before = sink.count();
    const started = await call(a, 'post', '/authentications', {}, {});
    expect(started.body.device).toEqual({ id, type: 'totp' });
    expect(mailsSince(sink, before).filter((m) => m.to.includes(u.email!))).toEqual([]);
  });
});

describe('the programmatic API', () => {
  it('pairs, activates, prompts and verifies an app', async () => {
    clockAtStepStart();
    const userId = 'prog-totp';
    const { device, pairing, challenge } = await t.auth.devices.create(userId, { type: 'totp', account: 'prog@example.test' });
    expect(challenge).toBeUndefined();
    expect(device).toMatchObject({ type: 'totp', status: 'ACTIVATION_REQUIRED', label: '', details: {} });
    const secret = pairing!.secret as string;
    expect(String(pairing!.keyUri)).toContain('prog%40example.test');
    expect(String(pairing!.qrCode)).toMatch(/^<svg/);
    expect(String(pairing!.manualKey).replace(/ /g, '')).toBe(secret);
    await t.auth.devices.activate(userId, device.id, totpCode(secret, Date.now()));
    vi.setSystemTime(Date.now() + STEP);
    const started = await t.auth.challenges.start(userId);
    expect(started).toMatchObject({ deviceId: device.id, type: 'totp', sentTo: null, expiresAt: null, status: 'OTP_REQUIRED' });
    const done = await t.auth.challenges.verify(userId, started.id, totpCode(secret, Date.now()));
    expect(done).toMatchObject({ status: 'COMPLETED', deviceId: device.id });
    await expect(t.auth.challenges.verify(userId, started.id, totpCode(secret, Date.now()))).rejects.toMatchObject({ code: 'INVALID_OTP' });
    await expect(t.auth.challenges.verify('someone-else', started.id, totpCode(secret, Date.now()))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
