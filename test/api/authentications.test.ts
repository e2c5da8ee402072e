import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { agent, type TestApp } from '../helpers/app.js';
import { codeFrom, SmtpSink } from '../helpers/smtp.js';
import { call, expectError } from './openapi.js';
import {
  MINUTE,
  addressOf,
  appWith,
  createDevice,
  deviceIdOf,
  fakeClock,
  freshUser,
  mailsSince,
  pairDevice,
  sessionCookie,
  startAuthentication,
  wrongCode,
} from './support.js';

let sink: SmtpSink;
/** One app for the tests that need no special options; each test signs on a new user of it. */
let t: TestApp;
beforeAll(async () => {
  sink = await SmtpSink.start();
  t = appWith(sink);
});
afterAll(async () => {
  await sink.close();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('POST /authentications', () => {
  it('sends a code to the default device (201 OTP_REQUIRED); the right answer completes it (COMPLETED) with a new session id', async () => {
    const { a, email, cookie: before } = await freshUser(t, sink);
    const deviceId = await deviceIdOf(a, email);
    const after = sink.count();
    const started = await call(a, 'post', '/authentications', {}, {});
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({ status: 'OTP_REQUIRED', device: { id: deviceId } });
    expect(started.body.device.sentTo).toMatch(/@example\.test$/);
    expect(started.body.device.sentTo).not.toBe(email);
    expect(Date.parse(started.body.expiresAt) - Date.now()).toBeGreaterThan(9 * MINUTE);
    expect(Date.parse(started.body.expiresAt) - Date.now()).toBeLessThanOrEqual(10 * MINUTE);
    const mail = await sink.next(email, { after });
    expect(mailsSince(sink, after)).toHaveLength(1);
    const code = codeFrom(mail);
    expect(started.text).not.toContain(code);

    const done = await call(a, 'post', '/authentications/{id}/otp', { id: started.body.id }, { otp: code });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ id: started.body.id, status: 'COMPLETED', device: { id: deviceId } });
    expect(Math.abs(Date.parse(done.body.completedAt) - Date.now())).toBeLessThan(MINUTE);

    const renewed = sessionCookie(done);
    expect(renewed, 'COMPLETED sets a new session cookie').toBeDefined();
    expect(renewed).not.toBe(before);
    // The agent (with the new cookie) is still signed on; the old session id is worth nothing.
    expect((await call(a, 'get', '/devices')).status).toBe(200);
    const stale = agent(t.app);
    expectError(await call(stale, 'get', '/devices', {}, undefined, { headers: { Cookie: `connect.sid=${before}` } }), 401, 'UNAUTHENTICATED');

    // The code is single use.
    expectError(await call(a, 'post', '/authentications/{id}/otp', { id: started.body.id }, { otp: code }), 400, 'OTP_EXPIRED');
  });

  it('without a body, also sends to the default device', async () => {
    const { a, email } = await freshUser(t, sink);
    const after = sink.count();
    const started = await call(a, 'post', '/authentications');
    expect(started.status).toBe(201);
    expect(started.body.device.id).toBe(await deviceIdOf(a, email));
    await sink.next(email, { after });
  });

  it('sends the code to the device named by deviceId', async () => {
    const { a, u, email } = await freshUser(t, sink);
    const work = addressOf(u, 'work');
    const workId = await pairDevice(a, sink, work);
    const after = sink.count();
    const started = await call(a, 'post', '/authentications', {}, { deviceId: workId });
    expect(started.status).toBe(201);
    expect(started.body.device.id).toBe(workId);
    const mail = await sink.next(work, { after });
    expect(mailsSince(sink, after).flatMap((m) => m.to)).toEqual([work]);
    const done = await call(a, 'post', '/authentications/{id}/otp', { id: started.body.id }, { otp: codeFrom(mail) });
    expect(done.status).toBe(200);
    expect(done.body.device.id).toBe(workId);
    expect(mailsSince(sink, after).flatMap((m) => m.to)).not.toContain(email);
  });

  it('answers 404 NOT_FOUND for an unknown deviceId and for another user\'s device', async () => {
    const { a } = await freshUser(t, sink);
    const { a: other, email: otherEmail } = await freshUser(t, sink);
    const othersDevice = await deviceIdOf(other, otherEmail);
    const after = sink.count();
    expectError(await call(a, 'post', '/authentications', {}, { deviceId: '00000000-0000-4000-8000-000000000000' }), 404, 'NOT_FOUND');
    expectError(await call(a, 'post', '/authentications', {}, { deviceId: othersDevice }), 404, 'NOT_FOUND');
    expect(mailsSince(sink, after)).toEqual([]);
  });

  it('answers 400 VALIDATION_FAILED for a device that waits for its pairing code', async () => {
    const { a, u } = await freshUser(t, sink);
    const { res: pending } = await createDevice(a, sink, addressOf(u, 'work'));
    const after = sink.count();
    expectError(await call(a, 'post', '/authentications', {}, { deviceId: pending.body.id }), 400, 'VALIDATION_FAILED');
    expect(mailsSince(sink, after)).toEqual([]);
  });

  it('answers 429 SEND_LIMIT_EXCEEDED with retryAfter past sendLimit', async () => {
    const own = appWith(sink, { limits: { sendLimit: 2 } });
    const { a, email } = await freshUser(own, sink);
    await startAuthentication(a, sink, email);
    const after = sink.count();
    const res = await call(a, 'post', '/authentications', {}, {});
    expectError(res, 429, 'SEND_LIMIT_EXCEEDED');
    expect(res.body.details.retryAfter).toBeGreaterThanOrEqual(1);
    expect(res.headers['retry-after']).toBe(String(res.body.details.retryAfter));
    expect(mailsSince(sink, after)).toEqual([]);
  });
});

describe('policy deviceSelection: prompt', () => {
  it('answers DEVICE_SELECTION_REQUIRED (200, the active devices) without sending a code; repeated with a deviceId it sends to that device', async () => {
    const own = appWith(sink, { policy: { skip: (u) => u.admin === true, deviceSelection: 'prompt' } });
    const { a, u, email } = await freshUser(own, sink);
    const first = await deviceIdOf(a, email);
    // One active device: nothing to choose from.
    const single = await startAuthentication(a, sink, email);
    expect(single.res.body.device.id).toBe(first);

    const work = addressOf(u, 'work');
    const second = await pairDevice(a, sink, work, 'Work');
    await createDevice(a, sink, addressOf(u, 'pending')); // not active: not offered

    const after = sink.count();
    const prompt = await call(a, 'post', '/authentications', {}, {});
    expect(prompt.status).toBe(200);
    expect(prompt.body.status).toBe('DEVICE_SELECTION_REQUIRED');
    expect(prompt.body.count).toBe(2);
    const offered = prompt.body._embedded.devices as Array<{ id: string; email: string; default: boolean; status: string }>;
    expect(offered.map((d) => d.id).sort()).toEqual([first, second].sort());
    expect(offered.every((d) => d.status === 'ACTIVE')).toBe(true);
    expect(mailsSince(sink, after)).toEqual([]);

    const chosen = await call(a, 'post', '/authentications', {}, { deviceId: second });
    expect(chosen.status).toBe(201);
    expect(chosen.body).toMatchObject({ status: 'OTP_REQUIRED', device: { id: second } });
    const mail = await sink.next(work, { after });
    expect(mailsSince(sink, after).flatMap((m) => m.to)).toEqual([work]);
    const done = await call(a, 'post', '/authentications/{id}/otp', { id: chosen.body.id }, { otp: codeFrom(mail) });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ status: 'COMPLETED', device: { id: second } });
  });

  it('the default policy sends to the default device even with several', async () => {
    const { a, u, email } = await freshUser(t, sink);
    await pairDevice(a, sink, addressOf(u, 'work'));
    const { res } = await startAuthentication(a, sink, email);
    expect(res.body.device.id).toBe(await deviceIdOf(a, email));
  });
});

describe('POST /authentications/{id}/otp', () => {
  it('answers INVALID_OTP with remainingAttempts, then TOO_MANY_ATTEMPTS, after which even the right code is refused', async () => {
    const { a, email } = await freshUser(t, sink);
    const { res: started, code } = await startAuthentication(a, sink, email);
    const id = started.body.id;
    const wrong = wrongCode(code);
    expectError(await call(a, 'post', '/authentications/{id}/otp', { id }, { otp: wrong }), 400, 'INVALID_OTP', { remainingAttempts: 2 });
    expectError(await call(a, 'post', '/authentications/{id}/otp', { id }, { otp: wrong }), 400, 'INVALID_OTP', { remainingAttempts: 1 });
    expectError(await call(a, 'post', '/authentications/{id}/otp', { id }, { otp: wrong }), 400, 'INVALID_OTP', { remainingAttempts: 0 });
    expectError(await call(a, 'post', '/authentications/{id}/otp', { id }, { otp: code }), 400, 'TOO_MANY_ATTEMPTS', { remainingAttempts: 0 });
  });

  it('answers OTP_EXPIRED once the code has outlived otpLifetime', async () => {
    const clock = fakeClock();
    const { a, email } = await freshUser(t, sink);
    const { res: started, code } = await startAuthentication(a, sink, email);
    clock.advance(10 * MINUTE + 1000);
    expectError(await call(a, 'post', '/authentications/{id}/otp', { id: started.body.id }, { otp: code }), 400, 'OTP_EXPIRED');
  });

  it('each code answers only its own MFA request', async () => {
    const { a, email } = await freshUser(t, sink);
    const first = await startAuthentication(a, sink, email);
    const second = await startAuthentication(a, sink, email);
    if (first.code !== second.code) {
      expectError(await call(a, 'post', '/authentications/{id}/otp', { id: second.res.body.id }, { otp: first.code }), 400, 'INVALID_OTP', { remainingAttempts: 2 });
    }
    expect((await call(a, 'post', '/authentications/{id}/otp', { id: second.res.body.id }, { otp: second.code })).status).toBe(200);
  });

  it.each([
    ['letters', { otp: 'abcdef' }],
    ['too few digits', { otp: '123' }],
    ['no otp', {}],
    ['an otp that is not text', { otp: 123456 }],
  ])('answers 400 VALIDATION_FAILED (field otp) for %s, without using up a try', async (_name, body) => {
    const { a, email } = await freshUser(t, sink);
    const { res: started, code } = await startAuthentication(a, sink, email);
    expectError(await call(a, 'post', '/authentications/{id}/otp', { id: started.body.id }, body), 400, 'VALIDATION_FAILED', { field: 'otp' });
    expectError(await call(a, 'post', '/authentications/{id}/otp', { id: started.body.id }, { otp: wrongCode(code) }), 400, 'INVALID_OTP', { remainingAttempts: 2 });
  });

  it('answers 404 NOT_FOUND for an unknown authentication id and for another user\'s authentication', async () => {
    const { a } = await freshUser(t, sink);
    const { a: other, email: otherEmail } = await freshUser(t, sink);
    const { res: theirs, code } = await startAuthentication(other, sink, otherEmail);
    for (const id of ['nope', 'bm9ib2R5.not-a-uuid', theirs.body.id]) {
      expectError(await call(a, 'post', '/authentications/{id}/otp', { id }, { otp: code }), 404, 'NOT_FOUND');
    }
    // The other user's request is untouched.
    expect((await call(other, 'post', '/authentications/{id}/otp', { id: theirs.body.id }, { otp: code })).status).toBe(200);
  });

  it('answers 423 LOCKED with lockedUntil when wrong codes lock the user; while locked no code is sent or accepted', async () => {
    const own = appWith(sink, { limits: { lockAfter: 2 } });
    const { a, email } = await freshUser(own, sink);
    const { res: started, code } = await startAuthentication(a, sink, email);
    const id = started.body.id;
    expectError(await call(a, 'post', '/authentications/{id}/otp', { id }, { otp: wrongCode(code) }), 400, 'INVALID_OTP', { remainingAttempts: 2 });
    const locked = await call(a, 'post', '/authentications/{id}/otp', { id }, { otp: wrongCode(code) });
    expectError(locked, 423, 'LOCKED');
    const until = Date.parse(locked.body.details.lockedUntil);
    expect(until - Date.now()).toBeGreaterThan(14 * MINUTE);
    expect(until - Date.now()).toBeLessThanOrEqual(15 * MINUTE);

    expectError(await call(a, 'post', '/authentications/{id}/otp', { id }, { otp: code }), 423, 'LOCKED');
    const after = sink.count();
    const refused = await call(a, 'post', '/authentications', {}, {});
    expectError(refused, 423, 'LOCKED');
    expect(refused.body.details.lockedUntil).toBe(locked.body.details.lockedUntil);
    expect(mailsSince(sink, after)).toEqual([]);
  });
});

describe('step-up for changes (recentMfa)', () => {
  it('11 minutes after the last MFA, adding or removing a method answers 401 MFA_REQUIRED; after POST /authentications and its code both work again', async () => {
    const clock = fakeClock();
    const { a, u, email } = await freshUser(t, sink);
    const work = addressOf(u, 'work');
    const workId = await pairDevice(a, sink, work); // within 10 minutes of the sign-on: no step-up
    clock.advance(11 * MINUTE);

    const after = sink.count();
    expectError(await call(a, 'post', '/devices', {}, { email: addressOf(u, 'home') }), 401, 'MFA_REQUIRED');
    expectError(await call(a, 'delete', '/devices/{id}', { id: workId }), 401, 'MFA_REQUIRED');
    expect(mailsSince(sink, after)).toEqual([]);
    expect((await call(a, 'get', '/devices')).body.count).toBe(2);
    // Renaming and reading need no step-up.
    expect((await call(a, 'patch', '/devices/{id}', { id: workId }, { nickname: 'Work' })).status).toBe(200);

    const { res: started, code } = await startAuthentication(a, sink, email);
    const done = await call(a, 'post', '/authentications/{id}/otp', { id: started.body.id }, { otp: code });
    expect(done.status).toBe(200);
    expect(sessionCookie(done)).toBeDefined();

    expect((await createDevice(a, sink, addressOf(u, 'home'))).res.status).toBe(201);
    expect((await call(a, 'delete', '/devices/{id}', { id: workId })).status).toBe(204);
  });

  it('9 minutes after the last MFA no step-up is needed', async () => {
    const clock = fakeClock();
    const { a, u } = await freshUser(t, sink);
    clock.advance(9 * MINUTE);
    expect((await createDevice(a, sink, addressOf(u, 'work'))).res.status).toBe(201);
  });

  it('the period is the recentMfa option', async () => {
    const clock = fakeClock();
    const own = appWith(sink, { recentMfa: '2m' });
    const { a, u } = await freshUser(own, sink);
    clock.advance(3 * MINUTE);
    expectError(await call(a, 'post', '/devices', {}, { email: addressOf(u, 'work') }), 401, 'MFA_REQUIRED');
  });
});
