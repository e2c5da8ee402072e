import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { agent, login, type TestApp } from '../helpers/app.js';
import { codeFrom, SmtpSink } from '../helpers/smtp.js';
import { call, expectError } from './openapi.js';
import {
  MINUTE,
  addressOf,
  appWith,
  eventsOf,
  freshUser,
  newUser,
  createDevice,
  deviceIdOf,
  fakeClock,
  mailsSince,
  pairDevice,
  rootSignedOn,
  signedOnWithDevice,
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

const ADDED = /was added/i;
const REMOVED = /was removed/i;
const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

describe('GET /devices', () => {
  it('lists the signed-on user\'s devices, and GET /devices/{id} returns one', async () => {
    const { a, email: ALICE } = await freshUser(t, sink);
    const list = await call(a, 'get', '/devices');
    expect(list.status).toBe(200);
    expect(list.body.count).toBe(1);
    const [device] = list.body._embedded.devices;
    expect(device).toMatchObject({ type: 'email', email: ALICE, nickname: null, status: 'ACTIVE', default: true });
    expect(Date.parse(device.activatedAt)).not.toBeNaN();

    const one = await call(a, 'get', '/devices/{id}', { id: device.id });
    expect(one.status).toBe(200);
    expect(one.body).toEqual(device);
  });

  it('answers 401 UNAUTHENTICATED without a session, and during a sign-on that has not answered its code', async () => {
    const u = newUser(t);
    const WORK = addressOf(u, 'work');
    await signedOnWithDevice(t, sink, u); // the user has a device: the next sign-on is challenged
    const stranger = agent(t.app);
    expectError(await call(stranger, 'get', '/devices'), 401, 'UNAUTHENTICATED');
    expectError(await call(stranger, 'post', '/devices', {}, { email: WORK }), 401, 'UNAUTHENTICATED');

    const pending = agent(t.app);
    const after = sink.count();
    const res = await login(pending, u.username, u.password);
    expect(res.headers.location).toBe('/mfa/challenge');
    await sink.next(u.email!, { after });
    expectError(await call(pending, 'get', '/devices'), 401, 'UNAUTHENTICATED');
    expectError(await call(pending, 'post', '/authentications', {}, {}), 401, 'UNAUTHENTICATED');
    expectError(await call(pending, 'get', '/devices/{id}', { id: UNKNOWN_ID }), 401, 'UNAUTHENTICATED');
  });

  it('answers 404 NOT_FOUND for an unknown device and for another user\'s device', async () => {
    const { a: alice } = await freshUser(t, sink);
    const { a: bob, email: BOB } = await freshUser(t, sink);
    const bobsDevice = await deviceIdOf(bob, BOB);
    for (const id of [UNKNOWN_ID, bobsDevice, 'not-an-id']) {
      expectError(await call(alice, 'get', '/devices/{id}', { id }), 404, 'NOT_FOUND');
      expectError(await call(alice, 'patch', '/devices/{id}', { id }, { nickname: 'mine now' }), 404, 'NOT_FOUND');
      expectError(await call(alice, 'post', '/devices/{id}/activate', { id }, { otp: '123456' }), 404, 'NOT_FOUND');
      expectError(await call(alice, 'post', '/devices/{id}/resend', { id }), 404, 'NOT_FOUND');
      expectError(await call(alice, 'delete', '/devices/{id}', { id }), 404, 'NOT_FOUND');
    }
    const still = await call(bob, 'get', '/devices/{id}', { id: bobsDevice });
    expect(still.status).toBe(200);
    expect(still.body).toMatchObject({ email: BOB, nickname: null, status: 'ACTIVE' });
  });
});

describe('POST /devices', () => {
  // Refused requests change nothing, so these cases share one user.
  let shared: ReturnType<typeof freshUser> | undefined;
  const validationUser = () => (shared ??= freshUser(t, sink));

  it('adds an email device (201 ACTIVATION_REQUIRED) and mails it a pairing code; the code activates it (ACTIVE) and the other address is told', async () => {
    const { a, u, email: ALICE } = await freshUser(t, sink);
    const WORK = addressOf(u, 'work');
    const after = sink.count();
    const created = await call(a, 'post', '/devices', {}, { type: 'email', email: WORK, nickname: '  Work  ' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ type: 'email', email: WORK, nickname: 'Work', status: 'ACTIVATION_REQUIRED', default: false, activatedAt: null });
    const mail = await sink.next(WORK, { after });
    expect(mailsSince(sink, after).map((m) => m.to)).toEqual([[WORK]]);
    const code = codeFrom(mail);

    const listed = await call(a, 'get', '/devices');
    expect(listed.body.count).toBe(2);

    const before = sink.count();
    const activated = await call(a, 'post', '/devices/{id}/activate', { id: created.body.id }, { otp: code });
    expect(activated.status).toBe(200);
    expect(activated.body).toMatchObject({ id: created.body.id, status: 'ACTIVE', default: false, nickname: 'Work' });
    expect(Date.parse(activated.body.activatedAt)).not.toBeNaN();
    const notices = mailsSince(sink, before);
    expect(notices.map((m) => m.to)).toEqual([[ALICE]]);
    expect(notices[0]!.subject).toMatch(ADDED);
    expect(notices[0]!.text).not.toContain(code);

    // A pairing code is single use.
    expectError(await call(a, 'post', '/devices/{id}/activate', { id: created.body.id }, { otp: code }), 400, 'VALIDATION_FAILED');
  });

  it('type is optional; a device without a nickname has nickname null', async () => {
    const { a, u } = await freshUser(t, sink);
    const WORK = addressOf(u, 'work');
    const after = sink.count();
    const created = await call(a, 'post', '/devices', {}, { email: WORK });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ type: 'email', nickname: null, status: 'ACTIVATION_REQUIRED' });
    await sink.next(WORK, { after });
  });

  it('adding an address that waits for its code again sends a new code to the same device; the old code stops working', async () => {
    const { a, u } = await freshUser(t, sink);
    const WORK = addressOf(u, 'work');
    const first = await createDevice(a, sink, WORK);
    const second = await createDevice(a, sink, WORK, { nickname: 'Work' });
    expect(second.res.body.id).toBe(first.res.body.id);
    expect(second.res.body.nickname).toBe('Work');
    expect((await call(a, 'get', '/devices')).body.count).toBe(2);
    if (first.code !== second.code) {
      const old = await call(a, 'post', '/devices/{id}/activate', { id: first.res.body.id }, { otp: first.code });
      expect(old.status).toBe(400);
      expect(['INVALID_OTP', 'OTP_EXPIRED']).toContain(old.body.code);
    }
    const ok = await call(a, 'post', '/devices/{id}/activate', { id: first.res.body.id }, { otp: second.code });
    expect(ok.status).toBe(200);
    expect(ok.body.status).toBe('ACTIVE');
  });

  it.each([
    ['a malformed address', { email: 'not-an-address' }, 'email'],
    ['a header injection', { email: 'eve@example.test\r\nBcc: everyone@example.test' }, 'email'],
    ['two addresses', { email: 'eve@example.test, mallory@example.test' }, 'email'],
    ['a display name', { email: 'Eve <eve@example.test>' }, 'email'],
    ['no address', { nickname: 'Work' }, 'email'],
    ['an address that is not text', { email: ['eve@example.test'] }, 'email'],
    ['a nickname of 65 characters', { email: 'eve@example.test', nickname: 'n'.repeat(65) }, 'nickname'],
    ['a nickname of two lines', { email: 'eve@example.test', nickname: 'Work\nBcc: x' }, 'nickname'],
    ['a nickname that is not text', { email: 'eve@example.test', nickname: 42 }, 'nickname'],
    ['another type', { type: 'sms', email: 'eve@example.test' }, 'type'],
    ['status ACTIVE from a user who is not an admin', { email: 'eve@example.test', status: 'ACTIVE' }, 'status'],
  ])('answers 400 VALIDATION_FAILED for %s, adds nothing and sends nothing', async (_name, body, field) => {
    const { a, u } = await validationUser();
    const after = sink.count();
    const res = await call(a, 'post', '/devices', {}, body);
    expectError(res, 400, 'VALIDATION_FAILED', { field });
    expect(mailsSince(sink, after)).toEqual([]);
    expect((await call(a, 'get', '/devices')).body.count).toBe(1);
    expect(eventsOf(t, u.id).filter((e) => e.type === 'device.created')).toHaveLength(1); // the sign-on's own
  });

  it('answers 400 VALIDATION_FAILED for a body that is not valid JSON', async () => {
    const { a } = await freshUser(t, sink);
    const res = await call(a, 'post', '/devices', {}, undefined, { raw: { type: 'application/json', text: '{"email": "eve@example.test"' } });
    expectError(res, 400, 'VALIDATION_FAILED');
    expect((await call(a, 'get', '/devices')).body.count).toBe(1);
  });

  it('answers 409 DEVICE_EXISTS for an address that is already a method (in any case)', async () => {
    const { a, email: ALICE } = await freshUser(t, sink);
    const after = sink.count();
    expectError(await call(a, 'post', '/devices', {}, { email: ALICE }), 409, 'DEVICE_EXISTS');
    expectError(await call(a, 'post', '/devices', {}, { email: ALICE.toUpperCase() }), 409, 'DEVICE_EXISTS');
    expect(mailsSince(sink, after)).toEqual([]);
  });

  it('answers 409 LIMIT_EXCEEDED with the limit past methods.email.maxDevices', async () => {
    const own = appWith(sink, { limits: { maxDevices: 2 } });
    const { a, u } = await freshUser(own, sink);
    const WORK = addressOf(u, 'work');
    const HOME = addressOf(u, 'home');
    await createDevice(a, sink, WORK);
    const after = sink.count();
    expectError(await call(a, 'post', '/devices', {}, { email: HOME }), 409, 'LIMIT_EXCEEDED', { limit: 2 });
    expect(mailsSince(sink, after)).toEqual([]);
    expect((await call(a, 'get', '/devices')).body.count).toBe(2);
  });

  it('answers 429 SEND_LIMIT_EXCEEDED with retryAfter past methods.email.sendLimit, and keeps no device it could not send a code to', async () => {
    const own = appWith(sink, { limits: { sendLimit: 2 } });
    const { a, u, email: ALICE } = await freshUser(own, sink); // code 1: the sign-on's pairing
    const WORK = addressOf(u, 'work');
    const HOME = addressOf(u, 'home');
    await createDevice(a, sink, WORK); // code 2
    const after = sink.count();
    const res = await call(a, 'post', '/devices', {}, { email: HOME });
    expectError(res, 429, 'SEND_LIMIT_EXCEEDED');
    expect(res.body.details.retryAfter).toBeGreaterThanOrEqual(1);
    expect(res.headers['retry-after']).toBe(String(res.body.details.retryAfter));
    expect(mailsSince(sink, after)).toEqual([]);
    const emails = (await call(a, 'get', '/devices')).body._embedded.devices.map((d: { email: string }) => d.email);
    expect(emails.sort()).toEqual([ALICE, WORK].sort());
  });

  it('answers 423 LOCKED with lockedUntil while the user is locked', async () => {
    const own = appWith(sink, { limits: { lockAfter: 1 } });
    const { a, u, email: ALICE } = await freshUser(own, sink);
    const WORK = addressOf(u, 'work');
    const { res: started, code } = await startAuthentication(a, sink, ALICE);
    const locking = await call(a, 'post', '/authentications/{id}/otp', { id: started.body.id }, { otp: wrongCode(code) });
    expectError(locking, 423, 'LOCKED');
    const after = sink.count();
    const res = await call(a, 'post', '/devices', {}, { email: WORK });
    expectError(res, 423, 'LOCKED');
    expect(Date.parse(res.body.details.lockedUntil)).toBeGreaterThan(Date.now());
    expect(res.body.details.lockedUntil).toBe(locking.body.details.lockedUntil);
    expect(mailsSince(sink, after)).toEqual([]);
  });
});

describe('POST /devices/{id}/activate', () => {
  it('answers INVALID_OTP with remainingAttempts, then TOO_MANY_ATTEMPTS, after which even the right code is refused', async () => {
    const { a, u } = await freshUser(t, sink);
    const WORK = addressOf(u, 'work');
    const { res: created, code } = await createDevice(a, sink, WORK);
    const id = created.body.id;
    const wrong = wrongCode(code);
    expectError(await call(a, 'post', '/devices/{id}/activate', { id }, { otp: wrong }), 400, 'INVALID_OTP', { remainingAttempts: 2 });
    expectError(await call(a, 'post', '/devices/{id}/activate', { id }, { otp: wrong }), 400, 'INVALID_OTP', { remainingAttempts: 1 });
    expectError(await call(a, 'post', '/devices/{id}/activate', { id }, { otp: wrong }), 400, 'INVALID_OTP', { remainingAttempts: 0 });
    expectError(await call(a, 'post', '/devices/{id}/activate', { id }, { otp: code }), 400, 'TOO_MANY_ATTEMPTS', { remainingAttempts: 0 });
    expect((await call(a, 'get', '/devices/{id}', { id })).body.status).toBe('ACTIVATION_REQUIRED');
  });

  it('answers OTP_EXPIRED once the code has outlived otpLifetime', async () => {
    const clock = fakeClock();
    const { a, u } = await freshUser(t, sink);
    const WORK = addressOf(u, 'work');
    const { res: created, code } = await createDevice(a, sink, WORK);
    clock.advance(11 * MINUTE);
    expectError(await call(a, 'post', '/devices/{id}/activate', { id: created.body.id }, { otp: code }), 400, 'OTP_EXPIRED');
    expect((await call(a, 'get', '/devices/{id}', { id: created.body.id })).body.status).toBe('ACTIVATION_REQUIRED');
  });

  it.each([
    ['letters', 'abcdef'],
    ['too few digits', '12345'],
    ['too many digits', '1234567'],
    ['a number', 123456],
    ['nothing', undefined],
  ])('answers 400 VALIDATION_FAILED (field otp) for %s, without using up a try', async (_name, otp) => {
    const { a, u } = await freshUser(t, sink);
    const WORK = addressOf(u, 'work');
    const { res: created, code } = await createDevice(a, sink, WORK);
    const res = await call(a, 'post', '/devices/{id}/activate', { id: created.body.id }, otp === undefined ? {} : { otp });
    expectError(res, 400, 'VALIDATION_FAILED', { field: 'otp' });
    expectError(await call(a, 'post', '/devices/{id}/activate', { id: created.body.id }, { otp: wrongCode(code) }), 400, 'INVALID_OTP', { remainingAttempts: 2 });
  });

  it('accepts the code with spaces or dashes as a person types it', async () => {
    const { a, u } = await freshUser(t, sink);
    const WORK = addressOf(u, 'work');
    const { res: created, code } = await createDevice(a, sink, WORK);
    const typed = `${code.slice(0, 3)} ${code.slice(3)}`;
    const res = await call(a, 'post', '/devices/{id}/activate', { id: created.body.id }, { otp: typed });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('ACTIVE');
  });

  it('answers 400 VALIDATION_FAILED for a device that is already active', async () => {
    const { a, email: ALICE } = await freshUser(t, sink);
    const id = await deviceIdOf(a, ALICE);
    expectError(await call(a, 'post', '/devices/{id}/activate', { id }, { otp: '123456' }), 400, 'VALIDATION_FAILED');
  });

  it('answers 423 LOCKED with lockedUntil when the wrong code locks the user (lockAfter)', async () => {
    const own = appWith(sink, { limits: { lockAfter: 2 } });
    const { a, u } = await freshUser(own, sink);
    const WORK = addressOf(u, 'work');
    const { res: created, code } = await createDevice(a, sink, WORK);
    const id = created.body.id;
    expectError(await call(a, 'post', '/devices/{id}/activate', { id }, { otp: wrongCode(code) }), 400, 'INVALID_OTP', { remainingAttempts: 2 });
    const locked = await call(a, 'post', '/devices/{id}/activate', { id }, { otp: wrongCode(code) });
    expectError(locked, 423, 'LOCKED');
    expect(Date.parse(locked.body.details.lockedUntil)).toBeGreaterThan(Date.now());
    // While locked, not even the right code activates it.
    expectError(await call(a, 'post', '/devices/{id}/activate', { id }, { otp: code }), 423, 'LOCKED');
  });
});

describe('POST /devices/{id}/resend', () => {
  it('answers 429 RESEND_TOO_SOON with retryAfter and a Retry-After header within the cooldown', async () => {
    const { a, u } = await freshUser(t, sink);
    const WORK = addressOf(u, 'work');
    const { res: created } = await createDevice(a, sink, WORK);
    const after = sink.count();
    const res = await call(a, 'post', '/devices/{id}/resend', { id: created.body.id });
    expectError(res, 429, 'RESEND_TOO_SOON');
    expect(res.body.details.retryAfter).toBeGreaterThanOrEqual(1);
    expect(res.body.details.retryAfter).toBeLessThanOrEqual(30);
    expect(res.headers['retry-after']).toBe(String(res.body.details.retryAfter));
    expect(mailsSince(sink, after)).toEqual([]);
  });

  it('sends a new pairing code after the cooldown (200, with the new expiry); the previous code stops working', async () => {
    const clock = fakeClock();
    const { a, u } = await freshUser(t, sink);
    const WORK = addressOf(u, 'work');
    const { res: created, code: first } = await createDevice(a, sink, WORK);
    clock.advance(31_000);
    const after = sink.count();
    const res = await call(a, 'post', '/devices/{id}/resend', { id: created.body.id });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: created.body.id, status: 'ACTIVATION_REQUIRED', email: WORK });
    expect(Date.parse(res.body.activation.expiresAt)).toBe(Date.now() + 10 * MINUTE);
    const second = codeFrom(await sink.next(WORK, { after }));
    if (second !== first) {
      expectError(await call(a, 'post', '/devices/{id}/activate', { id: created.body.id }, { otp: first }), 400, 'INVALID_OTP');
    }
    const ok = await call(a, 'post', '/devices/{id}/activate', { id: created.body.id }, { otp: second });
    expect(ok.status).toBe(200);
    expect(ok.body.status).toBe('ACTIVE');
  });

  it('sends a new code for a device whose code has expired', async () => {
    const clock = fakeClock();
    const { a, u } = await freshUser(t, sink);
    const WORK = addressOf(u, 'work');
    const { res: created } = await createDevice(a, sink, WORK);
    clock.advance(20 * MINUTE);
    const after = sink.count();
    const res = await call(a, 'post', '/devices/{id}/resend', { id: created.body.id });
    expect(res.status).toBe(200);
    const code = codeFrom(await sink.next(WORK, { after }));
    expect((await call(a, 'post', '/devices/{id}/activate', { id: created.body.id }, { otp: code })).body.status).toBe('ACTIVE');
  });

  it('answers 429 SEND_LIMIT_EXCEEDED with retryAfter past sendLimit', async () => {
    const own = appWith(sink, { methods: { email: { resendCooldown: 0 } }, limits: { sendLimit: 2 } });
    const { a, u } = await freshUser(own, sink);
    const WORK = addressOf(u, 'work');
    const { res: created } = await createDevice(a, sink, WORK);
    const res = await call(a, 'post', '/devices/{id}/resend', { id: created.body.id });
    expectError(res, 429, 'SEND_LIMIT_EXCEEDED');
    expect(res.body.details.retryAfter).toBeGreaterThanOrEqual(1);
    expect(res.headers['retry-after']).toBe(String(res.body.details.retryAfter));
  });

  it('answers 400 VALIDATION_FAILED for a device that is already active', async () => {
    const { a, email: ALICE } = await freshUser(t, sink);
    const after = sink.count();
    expectError(await call(a, 'post', '/devices/{id}/resend', { id: await deviceIdOf(a, ALICE) }), 400, 'VALIDATION_FAILED');
    expect(mailsSince(sink, after)).toEqual([]);
  });
});

describe('PATCH /devices/{id}', () => {
  it('renames a device, clears its nickname with null, and makes another active device the default', async () => {
    const { a, u, email: ALICE } = await freshUser(t, sink);
    const WORK = addressOf(u, 'work');
    const mine = await deviceIdOf(a, ALICE);
    const work = await pairDevice(a, sink, WORK, 'Work');

    const renamed = await call(a, 'patch', '/devices/{id}', { id: mine }, { nickname: ' Personal ' });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ id: mine, nickname: 'Personal', default: true });

    const cleared = await call(a, 'patch', '/devices/{id}', { id: work }, { nickname: null });
    expect(cleared.status).toBe(200);
    expect(cleared.body.nickname).toBeNull();

    const made = await call(a, 'patch', '/devices/{id}', { id: work }, { default: true });
    expect(made.status).toBe(200);
    expect(made.body).toMatchObject({ id: work, default: true });
    const list = (await call(a, 'get', '/devices')).body._embedded.devices as Array<{ id: string; default: boolean }>;
    expect(list.filter((d) => d.default).map((d) => d.id)).toEqual([work]);

    // Codes now go to the new default device.
    const { res } = await startAuthentication(a, sink, WORK);
    expect(res.body.device.id).toBe(work);

    const unchanged = await call(a, 'patch', '/devices/{id}', { id: mine }, {});
    expect(unchanged.status).toBe(200);
    expect(unchanged.body).toMatchObject({ nickname: 'Personal', default: false });
  });

  it.each([
    ['an unknown field', { color: 'blue' }, 'color'],
    ['a nickname of 65 characters', { nickname: 'n'.repeat(65) }, 'nickname'],
    ['a nickname that is not text', { nickname: 7 }, 'nickname'],
    ['default: false', { default: false }, 'default'],
  ])('answers 400 VALIDATION_FAILED for %s and changes nothing', async (_name, body, field) => {
    const { a, email: ALICE } = await freshUser(t, sink);
    const id = await deviceIdOf(a, ALICE);
    const before = (await call(a, 'get', '/devices/{id}', { id })).body;
    expectError(await call(a, 'patch', '/devices/{id}', { id }, body), 400, 'VALIDATION_FAILED', { field });
    expect((await call(a, 'get', '/devices/{id}', { id })).body).toEqual(before);
  });

  it('answers 400 VALIDATION_FAILED when a device waiting for its code is made the default', async () => {
    const { a, u } = await freshUser(t, sink);
    const WORK = addressOf(u, 'work');
    const { res: created } = await createDevice(a, sink, WORK);
    expectError(await call(a, 'patch', '/devices/{id}', { id: created.body.id }, { default: true }), 400, 'VALIDATION_FAILED', { field: 'default' });
    expect((await call(a, 'get', '/devices/{id}', { id: created.body.id })).body.default).toBe(false);
  });

  it('answers 403 FORBIDDEN when a user who is not an admin blocks their own device', async () => {
    const { a, email: ALICE } = await freshUser(t, sink);
    const id = await deviceIdOf(a, ALICE);
    expectError(await call(a, 'patch', '/devices/{id}', { id }, { status: 'BLOCKED' }), 403, 'FORBIDDEN');
    expect((await call(a, 'get', '/devices/{id}', { id })).body.status).toBe('ACTIVE');
  });
});

describe('DELETE /devices/{id}', () => {
  it('removes a device (204); the default moves to the remaining one; the removed and the remaining addresses are told', async () => {
    const { a, u, email: ALICE } = await freshUser(t, sink);
    const WORK = addressOf(u, 'work');
    const mine = await deviceIdOf(a, ALICE);
    const work = await pairDevice(a, sink, WORK);
    const after = sink.count();
    const res = await call(a, 'delete', '/devices/{id}', { id: mine });
    expect(res.status).toBe(204);
    expectError(await call(a, 'get', '/devices/{id}', { id: mine }), 404, 'NOT_FOUND');
    const list = await call(a, 'get', '/devices');
    expect(list.body.count).toBe(1);
    expect(list.body._embedded.devices[0]).toMatchObject({ id: work, default: true });
    const notices = mailsSince(sink, after);
    expect(notices.flatMap((m) => m.to).sort()).toEqual([ALICE, WORK].sort());
    for (const notice of notices) expect(notice.subject).toMatch(REMOVED);
  });

  it('removes a device that waits for its code without a notice; its pairing code is dead', async () => {
    const { a, u } = await freshUser(t, sink);
    const WORK = addressOf(u, 'work');
    const { res: created, code } = await createDevice(a, sink, WORK);
    const after = sink.count();
    expect((await call(a, 'delete', '/devices/{id}', { id: created.body.id })).status).toBe(204);
    expect(mailsSince(sink, after)).toEqual([]);
    expectError(await call(a, 'post', '/devices/{id}/activate', { id: created.body.id }, { otp: code }), 404, 'NOT_FOUND');
  });
});

describe('a user without an active device', () => {
  it('adds and removes methods without a step-up (root: the policy skips MFA for him)', async () => {
    const clock = fakeClock();
    const root = await rootSignedOn(t);
    clock.advance(60 * MINUTE);
    const { res: created } = await createDevice(root, sink, 'root.second@example.test');
    expect(created.body.status).toBe('ACTIVATION_REQUIRED');
    expect((await call(root, 'delete', '/devices/{id}', { id: created.body.id })).status).toBe(204);
    expect((await call(root, 'get', '/devices')).body).toEqual({ _embedded: { devices: [] }, count: 0 });
  });
});
