import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { MfaEvent } from '../../src/index.js';
import type { TestApp } from '../helpers/app.js';
import { codeFrom, SmtpSink } from '../helpers/smtp.js';
import { call, expectError, USER_AGENT } from './openapi.js';
import { addressOf, adminWithFreshMfa, appWith, deviceIdOf, fakeClock, freshUser, MINUTE, wrongCode } from './support.js';

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

/** The client address the API requests claim (the test app trusts a loopback proxy). */
const CLIENT_IP = '203.0.113.7';
const ADMIN_IP = '198.51.100.9';
const FROM = { headers: { 'X-Forwarded-For': CLIENT_IP } };
const FROM_ADMIN = { headers: { 'X-Forwarded-For': ADMIN_IP } };

/** The events published from index `from` on. */
function since(t: TestApp, from: number): MfaEvent[] {
  return t.events.slice(from);
}

/** Every code mailed by the sink so far (pairing, sign-on and step-up mails). */
function codesSent(): string[] {
  return sink.received.filter((m) => /code/i.test(m.subject)).map(codeFrom);
}

/** Each event carries when, whose, from which client and browser. */
function expectContext(events: MfaEvent[], userId: string, ip: string): void {
  for (const event of events) {
    expect(event.at, event.type).toBeInstanceOf(Date);
    expect(Math.abs(event.at.getTime() - Date.now()), event.type).toBeLessThan(60 * MINUTE);
    expect(event.userId, event.type).toBe(userId);
    expect(event.ip, event.type).toBe(ip);
    expect(event.userAgent, event.type).toBe(USER_AGENT);
  }
}

function expectNoCodes(t: TestApp): void {
  const codes = codesSent();
  expect(codes.length).toBeGreaterThan(0);
  const text = JSON.stringify(t.events);
  for (const code of codes) expect(text).not.toContain(code);
}

describe('audit events along the API flows', () => {
  it('pairing, renaming, default, MFA request, wrong and right answers, removal', async () => {
    const t = appWith(sink);
    const { a, u, email } = await freshUser(t, sink);
    const main = await deviceIdOf(a, email);
    const work = addressOf(u, 'work');
    const start = t.events.length;

    let after = sink.count();
    const created = await call(a, 'post', '/devices', {}, { email: work }, FROM);
    const id = created.body.id as string;
    const pairing = codeFrom(await sink.next(work, { after }));
    expectError(await call(a, 'post', '/devices/{id}/activate', { id }, { otp: wrongCode(pairing) }, FROM), 400, 'INVALID_OTP');
    expect((await call(a, 'post', '/devices/{id}/activate', { id }, { otp: pairing }, FROM)).status).toBe(200);
    expect((await call(a, 'patch', '/devices/{id}', { id }, { nickname: 'Work' }, FROM)).status).toBe(200);
    expect((await call(a, 'patch', '/devices/{id}', { id }, { default: true }, FROM)).status).toBe(200);

    after = sink.count();
    const started = await call(a, 'post', '/authentications', {}, {}, FROM);
    expect(started.body.device.id).toBe(id);
    const stepUp = codeFrom(await sink.next(work, { after }));
    expectError(await call(a, 'post', '/authentications/{id}/otp', { id: started.body.id }, { otp: wrongCode(stepUp) }, FROM), 400, 'INVALID_OTP');
    expect((await call(a, 'post', '/authentications/{id}/otp', { id: started.body.id }, { otp: stepUp }, FROM)).status).toBe(200);
    expect((await call(a, 'delete', '/devices/{id}', { id: main }, undefined, FROM)).status).toBe(204);

    const events = since(t, start);
    expect(events.map((e) => [e.type, e.deviceId, e.reason])).toEqual([
      ['device.created', id, undefined],
      ['otp.sent', id, 'pairing'],
      ['mfa.failed', id, 'INVALID_OTP'],
      ['mfa.succeeded', id, undefined],
      ['device.activated', id, undefined],
      ['device.renamed', id, undefined],
      ['device.default', id, undefined],
      ['otp.sent', id, 'stepup'],
      ['mfa.failed', id, 'INVALID_OTP'],
      ['mfa.succeeded', id, undefined],
      ['device.removed', main, undefined],
    ]);
    expectContext(events, u.id, CLIENT_IP);
    expectNoCodes(t);
  });

  it('failures carry their reason: OTP_EXPIRED, TOO_MANY_ATTEMPTS, LOCKED; the lock is user.locked, the admin\'s unlock user.unlocked', async () => {
    const clock = fakeClock();
    const t = appWith(sink, { admin: (req) => req.user?.admin === true, limits: { lockAfter: 4 } });
    const { a, u, email } = await freshUser(t, sink);
    const main = await deviceIdOf(a, email);
    const start = t.events.length;

    // Expired.
    let after = sink.count();
    const first = await call(a, 'post', '/authentications', {}, {}, FROM);
    const firstCode = codeFrom(await sink.next(email, { after }));
    clock.advance(11 * MINUTE);
    expectError(await call(a, 'post', '/authentications/{id}/otp', { id: first.body.id }, { otp: firstCode }, FROM), 400, 'OTP_EXPIRED');

    // Three wrong tries use up a code; the fourth answer is refused outright; the fourth counted failure locks the user.
    after = sink.count();
    const second = await call(a, 'post', '/authentications', {}, {}, FROM);
    const secondCode = codeFrom(await sink.next(email, { after }));
    for (let i = 0; i < 3; i++) {
      await call(a, 'post', '/authentications/{id}/otp', { id: second.body.id }, { otp: wrongCode(secondCode) }, FROM);
    }
    expectError(await call(a, 'post', '/authentications/{id}/otp', { id: second.body.id }, { otp: secondCode }, FROM), 400, 'TOO_MANY_ATTEMPTS');
    after = sink.count();
    const third = await call(a, 'post', '/authentications', {}, {}, FROM);
    const thirdCode = codeFrom(await sink.next(email, { after }));
    expectError(await call(a, 'post', '/authentications/{id}/otp', { id: third.body.id }, { otp: wrongCode(thirdCode) }, FROM), 423, 'LOCKED');

    // The administrator's own MFA has to be fresh: he answers it after the clock moved on.
    const root = await adminWithFreshMfa(t, sink);
    expect((await call(root, 'post', '/users/{userId}/unlock', { userId: u.id }, {}, FROM_ADMIN)).status).toBe(204);

    const events = since(t, start).filter((e) => e.userId === u.id);
    const own = events.filter((e) => e.type !== 'user.unlocked');
    expect(own.map((e) => [e.type, e.deviceId, e.reason])).toEqual([
      ['otp.sent', main, 'stepup'],
      ['mfa.failed', main, 'OTP_EXPIRED'],
      ['otp.sent', main, 'stepup'],
      ['mfa.failed', main, 'INVALID_OTP'],
      ['mfa.failed', main, 'INVALID_OTP'],
      ['mfa.failed', main, 'INVALID_OTP'],
      ['mfa.failed', main, 'TOO_MANY_ATTEMPTS'],
      ['otp.sent', main, 'stepup'],
      ['mfa.failed', main, 'LOCKED'],
      ['user.locked', undefined, undefined],
    ]);
    expectContext(own, u.id, CLIENT_IP);
    const unlocked = events.filter((e) => e.type === 'user.unlocked');
    expect(unlocked).toHaveLength(1);
    expectContext(unlocked, u.id, ADMIN_IP);
    expectNoCodes(t);
  });

  it('admin steps: a device created ACTIVE, blocked, unblocked, all removed; each event names the user whose device it is', async () => {
    const t = appWith(sink, { admin: (req) => req.user?.admin === true });
    const root = await adminWithFreshMfa(t, sink);
    const { u, a, email } = await freshUser(t, sink);
    const main = await deviceIdOf(a, email);
    const start = t.events.length;

    const created = await call(root, 'post', '/users/{userId}/devices', { userId: u.id }, { email: addressOf(u, 'desk'), status: 'ACTIVE' }, FROM_ADMIN);
    const desk = created.body.id as string;
    const params = { userId: u.id, id: desk };
    expect((await call(root, 'patch', '/users/{userId}/devices/{id}', params, { status: 'BLOCKED' }, FROM_ADMIN)).status).toBe(200);
    expect((await call(root, 'patch', '/users/{userId}/devices/{id}', params, { status: 'ACTIVE' }, FROM_ADMIN)).status).toBe(200);
    expect((await call(root, 'delete', '/users/{userId}/devices', { userId: u.id }, undefined, FROM_ADMIN)).status).toBe(204);

    const events = since(t, start);
    expect(events.map((e) => [e.type, e.deviceId])).toEqual([
      ['device.created', desk],
      ['device.activated', desk],
      ['device.blocked', desk],
      ['device.unblocked', desk],
      ...[main, desk].map((id) => ['device.removed', id]),
    ]);
    expectContext(events, u.id, ADMIN_IP);
    expectNoCodes(t);
  });

  it('a listener that throws costs neither the request nor the other listeners their event', async () => {
    const t = appWith(sink);
    const seen: string[] = [];
    t.auth.on('event', () => {
      throw new Error('listener bug');
    });
    t.auth.on('event', (e) => seen.push(e.type));
    const { a, u } = await freshUser(t, sink);
    const work = addressOf(u, 'work');
    const after = sink.count();
    const created = await call(a, 'post', '/devices', {}, { email: work }, FROM);
    expect(created.status).toBe(201);
    await sink.next(work, { after });
    expect(seen.slice(-2)).toEqual(['device.created', 'otp.sent']);
  });
});
