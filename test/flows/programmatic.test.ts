import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DeviceExistsError,
  LimitExceededError,
  LockedError,
  MfaError,
  NotFoundError,
  OtpError,
  RateLimitError,
  ValidationError,
} from '../../src/index.js';
import { codeOf, createTestApp, type TestApp } from '../helpers/app.js';
import { SmtpSink } from '../helpers/smtp.js';

let sink: SmtpSink;
beforeAll(async () => {
  sink = await SmtpSink.start();
});
afterAll(async () => {
  await sink.close();
});

const HOME = 'alice.home@example.test';

function wrongCode(code: string): string {
  return code === '000000' ? '111111' : '000000';
}

/** What a promise rejects with (fails the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

/** Creates and activates a device for u1 through the programmatic API. */
async function paired(t: TestApp, email = HOME) {
  const after = sink.count();
  const { device } = await t.auth.devices.create('u1', { email });
  const mail = await sink.next(email, { after });
  return t.auth.devices.activate('u1', device.id, codeOf(mail.text));
}

describe('auth.devices', () => {
  it('creates a device waiting for activation and mails it a pairing code', async () => {
    const t = createTestApp({ sink });
    const after = sink.count();
    const { device, challenge } = await t.auth.devices.create('u1', { email: HOME, nickname: ' Home ' });
    expect(device).toMatchObject({
      userId: 'u1',
      type: 'email',
      label: HOME,
      details: { email: HOME },
      nickname: 'Home',
      status: 'ACTIVATION_REQUIRED',
      default: false,
      activatedAt: null,
    });
    expect(device.maskedLabel).toMatch(/^a•+e@example\.test$/);
    expect(device.createdAt).toBeInstanceOf(Date);
    expect(challenge).toMatchObject({ userId: 'u1', deviceId: device.id, type: 'email', purpose: 'pairing', status: 'OTP_REQUIRED', sentTo: device.maskedLabel });
    expect(challenge!.expiresAt).toBeInstanceOf(Date);
    expect(challenge!.expiresAt!.getTime()).toBeGreaterThan(Date.now());
    expect(JSON.stringify(challenge)).not.toMatch(/hash/);

    const mail = await sink.next(HOME, { after });
    expect(mail.subject).toMatch(/confirm this email address/i);
    expect(JSON.stringify({ device, challenge })).not.toContain(codeOf(mail.text));
  });

  it('activates with the mailed code, after refusing a wrong one with remainingAttempts', async () => {
    const t = createTestApp({ sink });
    const after = sink.count();
    const { device } = await t.auth.devices.create('u1', { email: HOME });
    const code = codeOf((await sink.next(HOME, { after })).text);

    const error = await rejection(t.auth.devices.activate('u1', device.id, wrongCode(code)));
    expect(error).toBeInstanceOf(OtpError);
    expect(error).toBeInstanceOf(MfaError);
    expect(error).toMatchObject({ code: 'INVALID_OTP', remainingAttempts: 2, status: 400 });
    expect((error as OtpError).details()).toEqual({ remainingAttempts: 2 });

    const badFormat = await rejection(t.auth.devices.activate('u1', device.id, '12'));
    expect(badFormat).toBeInstanceOf(ValidationError);
    expect(badFormat).toMatchObject({ code: 'VALIDATION_FAILED', field: 'otp' });

    const active = await t.auth.devices.activate('u1', device.id, ` ${code.slice(0, 3)} ${code.slice(3)} `);
    expect(active).toMatchObject({ id: device.id, status: 'ACTIVE', default: true });
    expect(active.activatedAt).toBeInstanceOf(Date);

    const again = await rejection(t.auth.devices.activate('u1', device.id, code));
    expect(again).toBeInstanceOf(ValidationError);
  });

  it('lists, updates and removes devices', async () => {
    const t = createTestApp({ sink });
    const home = await paired(t, HOME);
    const work = await paired(t, 'alice.work@example.test');
    expect((await t.auth.devices.list('u1')).map((d) => [d.label, d.status, d.default])).toEqual([
      [HOME, 'ACTIVE', true],
      ['alice.work@example.test', 'ACTIVE', false],
    ]);
    expect(await t.auth.devices.list('u2')).toEqual([]);

    const renamed = await t.auth.devices.update('u1', work.id, { nickname: 'Work' });
    expect(renamed.nickname).toBe('Work');
    const cleared = await t.auth.devices.update('u1', work.id, { nickname: '' });
    expect(cleared.nickname).toBeNull();
    await t.auth.devices.update('u1', work.id, { default: true });
    expect((await t.auth.devices.get('u1', work.id)).default).toBe(true);
    expect((await t.auth.devices.get('u1', home.id)).default).toBe(false);

    const badName = await rejection(t.auth.devices.update('u1', work.id, { nickname: 42 }));
    expect(badName).toBeInstanceOf(ValidationError);

    await t.auth.devices.remove('u1', work.id);
    const left = await t.auth.devices.list('u1');
    expect(left).toHaveLength(1);
    expect(left[0]).toMatchObject({ id: home.id, default: true });

    const gone = await rejection(t.auth.devices.get('u1', work.id));
    expect(gone).toBeInstanceOf(NotFoundError);
    expect(gone).toMatchObject({ code: 'NOT_FOUND', status: 404 });
    expect(await rejection(t.auth.devices.remove('u1', work.id))).toBeInstanceOf(NotFoundError);
    // Another user's id does not reach u1's device.
    expect(await rejection(t.auth.devices.get('u2', home.id))).toBeInstanceOf(NotFoundError);
  });

  it('refuses an unconfirmed device as the default', async () => {
    const t = createTestApp({ sink });
    const { device } = await t.auth.devices.create('u1', { email: HOME });
    const error = await rejection(t.auth.devices.update('u1', device.id, { default: true }));
    expect(error).toBeInstanceOf(ValidationError);
  });

  it('keeps the default when a pairing begun before it is finished later', async () => {
    const t = createTestApp({ sink });
    const after = sink.count();
    const { device: late } = await t.auth.devices.create('u1', { email: HOME });
    const code = codeOf((await sink.next(HOME, { after })).text);
    const work = await paired(t, 'alice.work@example.test');
    expect(work.default).toBe(true);

    expect(await t.auth.devices.activate('u1', late.id, code)).toMatchObject({ status: 'ACTIVE', default: false });
    expect((await t.auth.devices.list('u1')).map((d) => [d.id, d.default])).toEqual([[work.id, true], [late.id, false]]);
  });

  it('raises typed errors for a bad address, a duplicate and the device limit', async () => {
    const t = createTestApp({ sink, mfa: { limits: { maxDevices: 2 } } });
    const bad = await rejection(t.auth.devices.create('u1', { email: 'a@b.c\r\nBcc: evil@x.test' }));
    expect(bad).toBeInstanceOf(ValidationError);
    expect(bad).toMatchObject({ code: 'VALIDATION_FAILED', field: 'email' });
    expect(await rejection(t.auth.devices.create('u1', { email: HOME, type: 'sms' as 'email' }))).toBeInstanceOf(ValidationError);

    await paired(t, HOME);
    const dup = await rejection(t.auth.devices.create('u1', { email: 'alice.home@EXAMPLE.test' }));
    expect(dup).toBeInstanceOf(DeviceExistsError);
    expect(dup).toMatchObject({ code: 'DEVICE_EXISTS', status: 409 });

    await t.auth.devices.create('u1', { email: 'two@example.test' });
    const limit = await rejection(t.auth.devices.create('u1', { email: 'three@example.test' }));
    expect(limit).toBeInstanceOf(LimitExceededError);
    expect(limit).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 2 });
    expect(await t.auth.devices.list('u1')).toHaveLength(2);
  });

  it('resends a pairing code; the earlier code stops working', async () => {
    const t = createTestApp({ sink, mfa: { methods: { email: { resendCooldown: 0 } } } });
    let after = sink.count();
    const { device } = await t.auth.devices.create('u1', { email: HOME });
    const first = codeOf((await sink.next(HOME, { after })).text);
    after = sink.count();
    const challenge = await t.auth.devices.resend('u1', device.id);
    expect(challenge.deviceId).toBe(device.id);
    const second = codeOf((await sink.next(HOME, { after })).text);
    if (first !== second) {
      expect(await rejection(t.auth.devices.activate('u1', device.id, first))).toBeInstanceOf(OtpError);
    }
    expect((await t.auth.devices.activate('u1', device.id, second)).status).toBe('ACTIVE');
  });

  it('refuses a resend within the cooldown with RESEND_TOO_SOON', async () => {
    const t = createTestApp({ sink });
    const { device } = await t.auth.devices.create('u1', { email: HOME });
    const error = await rejection(t.auth.devices.resend('u1', device.id));
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error).toMatchObject({ code: 'RESEND_TOO_SOON', status: 429 });
    expect((error as RateLimitError).retryAfter).toBeGreaterThan(0);
  });
});

describe('auth.challenges', () => {
  it('starts a challenge on the default device and verifies the mailed code once', async () => {
    const t = createTestApp({ sink });
    const home = await paired(t, HOME);
    const work = await paired(t, 'alice.work@example.test');

    const after = sink.count();
    const challenge = await t.auth.challenges.start('u1');
    expect(challenge).toMatchObject({ userId: 'u1', deviceId: home.id, type: 'email', purpose: 'stepup', status: 'OTP_REQUIRED', sentTo: home.maskedLabel });
    expect(challenge.expiresAt!.getTime()).toBeGreaterThan(Date.now());
    expect(typeof challenge.id).toBe('string');
    const mail = await sink.next(HOME, { after });
    expect(mail.subject).toMatch(/confirm it is you/i);
    const code = codeOf(mail.text);

    const wrong = await rejection(t.auth.challenges.verify('u1', challenge.id, wrongCode(code)));
    expect(wrong).toBeInstanceOf(OtpError);
    expect(wrong).toMatchObject({ code: 'INVALID_OTP', remainingAttempts: 2 });

    const done = await t.auth.challenges.verify('u1', challenge.id, code);
    // The completed challenge names its device and method; nothing was sent by verifying, so no sentTo nor expiresAt.
    expect(done).toMatchObject({ id: challenge.id, userId: 'u1', deviceId: home.id, type: 'email', purpose: 'stepup', status: 'COMPLETED', sentTo: null, expiresAt: null });

    const replay = await rejection(t.auth.challenges.verify('u1', challenge.id, code));
    expect(replay).toBeInstanceOf(OtpError);
    expect(replay).toMatchObject({ code: 'OTP_EXPIRED' });

    // A chosen device.
    const afterWork = sink.count();
    const onWork = await t.auth.challenges.start('u1', { deviceId: work.id });
    expect(onWork.deviceId).toBe(work.id);
    const workCode = codeOf((await sink.next('alice.work@example.test', { after: afterWork })).text);
    expect((await t.auth.challenges.verify('u1', onWork.id, workCode)).status).toBe('COMPLETED');
  });

  it('kills a code after attemptsPerCode wrong answers', async () => {
    const t = createTestApp({ sink });
    await paired(t, HOME);
    const after = sink.count();
    const challenge = await t.auth.challenges.start('u1');
    const code = codeOf((await sink.next(HOME, { after })).text);
    const remaining: unknown[] = [];
    for (let i = 0; i < 3; i++) remaining.push(((await rejection(t.auth.challenges.verify('u1', challenge.id, wrongCode(code)))) as OtpError).remainingAttempts);
    expect(remaining).toEqual([2, 1, 0]);
    const spent = await rejection(t.auth.challenges.verify('u1', challenge.id, code));
    expect(spent).toBeInstanceOf(OtpError);
    expect(spent).toMatchObject({ code: 'TOO_MANY_ATTEMPTS' });
  });

  it('locks the user after lockAfter wrong codes (LockedError), and refuses to send codes while locked', async () => {
    const t = createTestApp({ sink, mfa: { limits: { lockAfter: 2 } } });
    await paired(t, HOME);
    const after = sink.count();
    const challenge = await t.auth.challenges.start('u1');
    const code = codeOf((await sink.next(HOME, { after })).text);
    expect(await rejection(t.auth.challenges.verify('u1', challenge.id, wrongCode(code)))).toMatchObject({ code: 'INVALID_OTP' });
    const locked = await rejection(t.auth.challenges.verify('u1', challenge.id, wrongCode(code)));
    expect(locked).toBeInstanceOf(LockedError);
    expect(locked).toMatchObject({ code: 'LOCKED', status: 423 });
    expect((locked as LockedError).lockedUntil).toBeGreaterThan(Date.now());
    // Even the right code is refused while locked, and no new code is sent.
    expect(await rejection(t.auth.challenges.verify('u1', challenge.id, code))).toBeInstanceOf(LockedError);
    const count = sink.count();
    expect(await rejection(t.auth.challenges.start('u1'))).toBeInstanceOf(LockedError);
    expect(sink.count()).toBe(count);
    expect(t.events.some((e) => e.type === 'user.locked' && e.userId === 'u1')).toBe(true);
  });

  it('raises NotFoundError for an unknown challenge and a user without a device, ValidationError (deviceId) for a device that is not active', async () => {
    const t = createTestApp({ sink });
    expect(await rejection(t.auth.challenges.verify('u1', 'nonsense', '123456'))).toBeInstanceOf(NotFoundError);
    expect(await rejection(t.auth.challenges.start('u2'))).toBeInstanceOf(NotFoundError);
    const { device } = await t.auth.devices.create('u1', { email: HOME });
    const after = sink.count();
    // As the JSON API and the challenge page answer it: 400 VALIDATION_FAILED on deviceId, and nothing is sent.
    const pending = await rejection(t.auth.challenges.start('u1', { deviceId: device.id }));
    expect(pending).toBeInstanceOf(ValidationError);
    expect(pending).toMatchObject({ code: 'VALIDATION_FAILED', field: 'deviceId', status: 400 });
    expect(sink.count()).toBe(after);
    expect(await rejection(t.auth.challenges.start('u1', { deviceId: 'no-such-device' }))).toBeInstanceOf(NotFoundError);
  });

  it("does not let a challenge id answer for another user's code", async () => {
    const t = createTestApp({ sink });
    await paired(t, HOME);
    const after = sink.count();
    const challenge = await t.auth.challenges.start('u1');
    const code = codeOf((await sink.next(HOME, { after })).text);
    const id = challenge.id.split('.').at(-1);
    const forged = `${Buffer.from('u2').toString('base64url')}.${id}`;
    expect(await rejection(t.auth.challenges.verify('u2', forged, code))).toBeInstanceOf(OtpError);
    expect((await t.auth.challenges.verify('u1', challenge.id, code)).status).toBe('COMPLETED');
  });

  it("verify is bound to the user the app names: another user's challenge and code are NOT_FOUND (failed before: the id chose the user)", async () => {
    const t = createTestApp({ sink });
    await paired(t, HOME);
    // bob's step-up, answered by whoever holds bob's mailbox, must not pass a step-up that the app asks of alice.
    const bobAfter = sink.count();
    const { device: bobDevice } = await t.auth.devices.create('u2', { email: 'bob@example.test' });
    await t.auth.devices.activate('u2', bobDevice.id, codeOf((await sink.next('bob@example.test', { after: bobAfter })).text));
    const after = sink.count();
    const bobs = await t.auth.challenges.start('u2');
    const code = codeOf((await sink.next('bob@example.test', { after })).text);
    const error = await rejection(t.auth.challenges.verify('u1', bobs.id, code));
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({ code: 'NOT_FOUND' });
    // Nothing was spent: bob's own check still works.
    expect((await t.auth.challenges.verify('u2', bobs.id, code)).status).toBe('COMPLETED');
  });

  it('a forged challenge id tells nothing of whether the user is locked (failed before: LOCKED answered before looking up the challenge)', async () => {
    const t = createTestApp({ sink, mfa: { limits: { lockAfter: 1 } } });
    await paired(t, HOME);
    const after = sink.count();
    const challenge = await t.auth.challenges.start('u1');
    const code = codeOf((await sink.next(HOME, { after })).text);
    expect(await rejection(t.auth.challenges.verify('u1', challenge.id, wrongCode(code)))).toBeInstanceOf(LockedError);
    const forged = `${Buffer.from('u1').toString('base64url')}.00000000-0000-4000-8000-000000000000`;
    expect(await rejection(t.auth.challenges.verify('u1', forged, code))).toMatchObject({ code: 'OTP_EXPIRED' });
  });

  it('publishes events for app-started challenges without request details', async () => {
    const t = createTestApp({ sink });
    await paired(t, HOME);
    const from = t.events.length;
    const after = sink.count();
    const challenge = await t.auth.challenges.start('u1', {}, { ip: '203.0.113.9', userAgent: 'app' });
    const code = codeOf((await sink.next(HOME, { after })).text);
    await t.auth.challenges.verify('u1', challenge.id, code);
    const events = t.events.slice(from);
    expect(events.map((e) => e.type)).toEqual(['otp.sent', 'mfa.succeeded']);
    expect(events[0]).toMatchObject({ ip: '203.0.113.9', userAgent: 'app', reason: 'stepup' });
    expect(events[1]!.ip).toBeUndefined();
    expect(JSON.stringify(events)).not.toContain(code);
  });
});
