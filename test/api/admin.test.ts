import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { agent, login, submit, type Agent, type TestApp } from '../helpers/app.js';
import { codeFrom, SmtpSink } from '../helpers/smtp.js';
import { call, expectError, type Method } from './openapi.js';
import {
  addressOf,
  adminWithFreshMfa,
  appWith,
  deviceIdOf,
  eventsOf,
  fakeClock,
  freshUser,
  mailsSince,
  pairDevice,
  rootSignedOn,
  startAuthentication,
  wrongCode,
} from './support.js';

let sink: SmtpSink;
/** The admin option answers true for root (u3) only. */
let t: TestApp;
let root: Agent;
beforeAll(async () => {
  sink = await SmtpSink.start();
  t = appWith(sink, { admin: (req) => req.user?.admin === true, limits: { lockAfter: 2, sendLimit: 20 } });
  root = await adminWithFreshMfa(t, sink);
});
afterAll(async () => {
  await sink.close();
});
afterEach(() => {
  vi.useRealTimers();
});

const ADDED = /was added/i;

/** Every route under /users/{userId}, with a body that would succeed for an admin. */
function userRoutes(userId: string, deviceId: string): Array<[Method, string, Record<string, string>, unknown]> {
  const params = { userId, id: deviceId };
  return [
    ['get', '/users/{userId}/devices', params, undefined],
    ['post', '/users/{userId}/devices', params, { type: 'email', email: 'planted@example.test', status: 'ACTIVE' }],
    ['delete', '/users/{userId}/devices', params, undefined],
    ['get', '/users/{userId}/devices/{id}', params, undefined],
    ['patch', '/users/{userId}/devices/{id}', params, { status: 'BLOCKED' }],
    ['delete', '/users/{userId}/devices/{id}', params, undefined],
    ['post', '/users/{userId}/devices/{id}/activate', params, { otp: '123456' }],
    ['post', '/users/{userId}/devices/{id}/resend', params, {}],
    ['post', '/users/{userId}/unlock', params, {}],
    ['get', '/users/{userId}/trusted-browsers', params, undefined],
    ['delete', '/users/{userId}/trusted-browsers', params, undefined],
  ];
}

describe('admin: another user\'s devices', () => {
  it('lists a user\'s devices and reads one', async () => {
    const { u, email } = await freshUser(t, sink);
    const list = await call(root, 'get', '/users/{userId}/devices', { userId: u.id });
    expect(list.status).toBe(200);
    expect(list.body.count).toBe(1);
    expect(list.body._embedded.devices[0]).toMatchObject({ email, status: 'ACTIVE', default: true });
    const one = await call(root, 'get', '/users/{userId}/devices/{id}', { userId: u.id, id: list.body._embedded.devices[0].id });
    expect(one.status).toBe(200);
    expect(one.body).toEqual(list.body._embedded.devices[0]);
    // The admin's own list is his own.
    expect((await call(root, 'get', '/devices')).body._embedded.devices.map((d: { email: string }) => d.email)).toEqual(['root@example.test']);
  });

  it('creates a device already ACTIVE: no code is mailed to it, the user\'s other active address is told, and the user can answer with it', async () => {
    const { a, u, email } = await freshUser(t, sink);
    const planted = addressOf(u, 'backup');
    const after = sink.count();
    const created = await call(root, 'post', '/users/{userId}/devices', { userId: u.id }, { type: 'email', email: planted, nickname: 'Backup', status: 'ACTIVE' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ email: planted, nickname: 'Backup', status: 'ACTIVE', default: false });
    expect(Date.parse(created.body.activatedAt)).not.toBeNaN();
    const mails = mailsSince(sink, after);
    expect(mails.flatMap((m) => m.to)).toEqual([email]);
    expect(mails[0]!.subject).toMatch(ADDED);

    const { res } = await startAuthentication(a, sink, planted, created.body.id);
    expect(res.body.device.id).toBe(created.body.id);
    const listed = await call(a, 'get', '/devices');
    expect(listed.body.count).toBe(2);
  });

  it('a device created ACTIVE for a user without one becomes the default, and the user\'s next sign-on is challenged on it', async () => {
    const u = { id: 'id-planted-only', username: 'plantedonly', password: 'pw-planted', email: 'plantedonly@example.test' };
    t.users.push(u);
    const address = 'plantedonly.desk@example.test';
    const after = sink.count();
    const created = await call(root, 'post', '/users/{userId}/devices', { userId: u.id }, { email: address, status: 'ACTIVE' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'ACTIVE', default: true });
    expect(mailsSince(sink, after)).toEqual([]);

    const a = agent(t.app);
    const before = sink.count();
    const res = await login(a, u.username, u.password);
    expect(res.headers.location).toBe('/mfa/challenge');
    const mail = await sink.next(address, { after: before });
    const done = await submit(a, '/mfa/challenge', '/mfa/challenge', { otp: codeFrom(mail) });
    expect(done.status).toBe(303);
    expect((await call(a, 'get', '/devices')).status).toBe(200);
  });

  it('creates a device waiting for its code (the code goes to the address); resends after the cooldown and activates it', async () => {
    const clock = fakeClock();
    const { u, email } = await freshUser(t, sink);
    const address = addressOf(u, 'new');
    const after = sink.count();
    const created = await call(root, 'post', '/users/{userId}/devices', { userId: u.id }, { email: address, status: 'ACTIVATION_REQUIRED' });
    expect(created.status).toBe(201);
    expect(created.body.status).toBe('ACTIVATION_REQUIRED');
    const first = codeFrom(await sink.next(address, { after }));

    const params = { userId: u.id, id: created.body.id };
    expectError(await call(root, 'post', '/users/{userId}/devices/{id}/resend', params), 429, 'RESEND_TOO_SOON');
    clock.advance(31_000);
    const before = sink.count();
    const resent = await call(root, 'post', '/users/{userId}/devices/{id}/resend', params, {});
    expect(resent.status).toBe(200);
    expect(resent.body).toMatchObject({ id: created.body.id, status: 'ACTIVATION_REQUIRED' });
    const second = codeFrom(await sink.next(address, { after: before }));
    if (second !== first) {
      expectError(await call(root, 'post', '/users/{userId}/devices/{id}/activate', params, { otp: first }), 400, 'INVALID_OTP');
    }
    const notices = sink.count();
    const activated = await call(root, 'post', '/users/{userId}/devices/{id}/activate', params, { otp: second });
    expect(activated.status).toBe(200);
    expect(activated.body.status).toBe('ACTIVE');
    expect(mailsSince(sink, notices).flatMap((m) => m.to)).toEqual([email]);
  });

  it.each([
    ['status BLOCKED', { email: 'x.blocked@example.test', status: 'BLOCKED' }, 'status'],
    ['a bad address', { email: 'x@', status: 'ACTIVE' }, 'email'],
    ['a header injection', { email: 'x@example.test\r\nBcc: y@example.test', status: 'ACTIVE' }, 'email'],
    ['a nickname of 65 characters', { email: 'x.long@example.test', nickname: 'n'.repeat(65), status: 'ACTIVE' }, 'nickname'],
  ])('answers 400 VALIDATION_FAILED for %s', async (_name, body, field) => {
    const { u } = await freshUser(t, sink);
    const after = sink.count();
    expectError(await call(root, 'post', '/users/{userId}/devices', { userId: u.id }, body), 400, 'VALIDATION_FAILED', { field });
    expect(mailsSince(sink, after)).toEqual([]);
    expect((await call(root, 'get', '/users/{userId}/devices', { userId: u.id })).body.count).toBe(1);
  });

  it('answers 409 DEVICE_EXISTS for an address the user has, and 409 LIMIT_EXCEEDED past maxDevices', async () => {
    const { u, email } = await freshUser(t, sink);
    expectError(await call(root, 'post', '/users/{userId}/devices', { userId: u.id }, { email, status: 'ACTIVE' }), 409, 'DEVICE_EXISTS');
    for (const label of ['b', 'c', 'd', 'e']) {
      const res = await call(root, 'post', '/users/{userId}/devices', { userId: u.id }, { email: addressOf(u, label), status: 'ACTIVE' });
      expect(res.status).toBe(201);
    }
    expectError(await call(root, 'post', '/users/{userId}/devices', { userId: u.id }, { email: addressOf(u, 'f'), status: 'ACTIVE' }), 409, 'LIMIT_EXCEEDED', { limit: 5 });
  });

  it('answers 404 NOT_FOUND for a device the user does not have', async () => {
    const { u } = await freshUser(t, sink);
    const { a: other, email: otherEmail } = await freshUser(t, sink);
    const othersDevice = await deviceIdOf(other, otherEmail);
    for (const id of ['00000000-0000-4000-8000-000000000000', othersDevice]) {
      const params = { userId: u.id, id };
      expectError(await call(root, 'get', '/users/{userId}/devices/{id}', params), 404, 'NOT_FOUND');
      expectError(await call(root, 'patch', '/users/{userId}/devices/{id}', params, { status: 'BLOCKED' }), 404, 'NOT_FOUND');
      expectError(await call(root, 'delete', '/users/{userId}/devices/{id}', params), 404, 'NOT_FOUND');
      expectError(await call(root, 'post', '/users/{userId}/devices/{id}/activate', params, { otp: '123456' }), 404, 'NOT_FOUND');
      expectError(await call(root, 'post', '/users/{userId}/devices/{id}/resend', params), 404, 'NOT_FOUND');
    }
    expect((await call(other, 'get', '/devices/{id}', { id: othersDevice })).body.status).toBe('ACTIVE');
  });

  it('renames and makes default through PATCH; answers 400 for an unknown status', async () => {
    const { a, u, email } = await freshUser(t, sink);
    const work = await pairDevice(a, sink, addressOf(u, 'work'));
    const params = { userId: u.id, id: work };
    const renamed = await call(root, 'patch', '/users/{userId}/devices/{id}', params, { nickname: 'Work', default: true });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ nickname: 'Work', default: true });
    expect((await call(a, 'get', '/devices/{id}', { id: await deviceIdOf(a, email) })).body.default).toBe(false);
    expectError(await call(root, 'patch', '/users/{userId}/devices/{id}', params, { status: 'DISABLED' }), 400, 'VALIDATION_FAILED', { field: 'status' });
    expectError(await call(root, 'patch', '/users/{userId}/devices/{id}', params, { owner: 'root' }), 400, 'VALIDATION_FAILED', { field: 'owner' });
  });

  it('removes one device of a user without a step-up', async () => {
    const clock = fakeClock();
    const { a, u } = await freshUser(t, sink);
    const work = await pairDevice(a, sink, addressOf(u, 'work'));
    clock.advance(60 * 60_000);
    // The user's MFA is an hour old; only the administrator's own has to be fresh.
    const admin = await adminWithFreshMfa(t, sink);
    expect((await call(admin, 'delete', '/users/{userId}/devices/{id}', { userId: u.id, id: work })).status).toBe(204);
    expect((await call(a, 'get', '/devices')).body.count).toBe(1);
  });

  it("removes a user's last method (an administrator may; the user may not)", async () => {
    const { a, u, email } = await freshUser(t, sink);
    const only = await deviceIdOf(a, email);
    expectError(await call(a, 'delete', '/devices/{id}', { id: only }), 400, 'VALIDATION_FAILED');
    expect((await call(root, 'delete', '/users/{userId}/devices/{id}', { userId: u.id, id: only })).status).toBe(204);
    expect((await call(a, 'get', '/devices')).body.count).toBe(0);
  });
});

describe("admin: the administrator's own MFA", () => {
  it('an administrator signed on by password alone neither writes nor reads other users: MFA_REQUIRED (failed before: it did both)', async () => {
    const own = appWith(sink, { admin: (req) => req.user?.admin === true });
    const passwordOnly = await rootSignedOn(own);
    const { u, a, email } = await freshUser(own, sink);
    const routes = userRoutes(u.id, await deviceIdOf(a, email));
    for (const [method, template, params, body] of routes) {
      expectError(await call(passwordOnly, method, template, params, body), 401, 'MFA_REQUIRED');
    }
    expect((await call(a, 'get', '/devices')).body).toMatchObject({ count: 1, _embedded: { devices: [{ email, status: 'ACTIVE' }] } });
  });

  it("an administrator whose MFA is older than recentMfa answers a step-up first; adminRequiresMfa: false lifts the rule", async () => {
    const clock = fakeClock();
    const own = appWith(sink, { admin: (req) => req.user?.admin === true });
    const admin = await adminWithFreshMfa(own, sink);
    const { u } = await freshUser(own, sink);
    const body = { email: addressOf(u, 'desk'), status: 'ACTIVE' };
    clock.advance(11 * 60_000);
    expectError(await call(admin, 'post', '/users/{userId}/devices', { userId: u.id }, body), 401, 'MFA_REQUIRED');
    const again = await adminWithFreshMfa(own, sink);
    expect((await call(again, 'post', '/users/{userId}/devices', { userId: u.id }, body)).status).toBe(201);

    const lax = appWith(sink, { admin: (req) => req.user?.admin === true, adminRequiresMfa: false });
    const passwordOnly = await rootSignedOn(lax);
    const other = await freshUser(lax, sink);
    expect((await call(passwordOnly, 'post', '/users/{userId}/devices', { userId: other.u.id }, { email: addressOf(other.u, 'desk'), status: 'ACTIVE' })).status).toBe(201);
  });
});

describe('admin: block and unblock', () => {
  it('a blocked device gets no codes and the codes already sent to it stop working; sign-on picks another device; unblocked, it works again', async () => {
    const { a, u, email } = await freshUser(t, sink);
    const main = await deviceIdOf(a, email); // the default
    const work = addressOf(u, 'work');
    const workId = await pairDevice(a, sink, work);
    const { res: started, code } = await startAuthentication(a, sink, email);
    expect(started.body.device.id).toBe(main);

    const blocked = await call(root, 'patch', '/users/{userId}/devices/{id}', { userId: u.id, id: main }, { status: 'BLOCKED' });
    expect(blocked.status).toBe(200);
    expect(blocked.body).toMatchObject({ id: main, status: 'BLOCKED' });
    expect(eventsOf(t, u.id).filter((e) => e.type === 'device.blocked').map((e) => e.deviceId)).toEqual([main]);

    // The code sent before the block is dead.
    expectError(await call(a, 'post', '/authentications/{id}/otp', { id: started.body.id }, { otp: code }), 400, 'OTP_EXPIRED');
    // The user sees it blocked and cannot ask for a code to it.
    expect((await call(a, 'get', '/devices/{id}', { id: main })).body.status).toBe('BLOCKED');
    const after = sink.count();
    expectError(await call(a, 'post', '/authentications', {}, { deviceId: main }), 400, 'VALIDATION_FAILED');
    // An MFA request without a device goes to the other one.
    const other = await startAuthentication(a, sink, work);
    expect(other.res.body.device.id).toBe(workId);

    // So does the next sign-on.
    const b = agent(t.app);
    const beforeSignOn = sink.count();
    const loggedIn = await login(b, u.username, u.password);
    expect(loggedIn.headers.location).toBe('/mfa/challenge');
    const mail = await sink.next(work, { after: beforeSignOn });
    expect(mailsSince(sink, after).flatMap((m) => m.to)).not.toContain(email);
    expect((await submit(b, '/mfa/challenge', '/mfa/challenge', { otp: codeFrom(mail) })).status).toBe(303);

    // Blocking again changes nothing; unblocking makes it ACTIVE and usable.
    expect((await call(root, 'patch', '/users/{userId}/devices/{id}', { userId: u.id, id: main }, { status: 'BLOCKED' })).body.status).toBe('BLOCKED');
    const unblocked = await call(root, 'patch', '/users/{userId}/devices/{id}', { userId: u.id, id: main }, { status: 'ACTIVE' });
    expect(unblocked.status).toBe(200);
    expect(unblocked.body.status).toBe('ACTIVE');
    expect(eventsOf(t, u.id).filter((e) => e.type === 'device.unblocked').map((e) => e.deviceId)).toEqual([main]);
    const again = await startAuthentication(a, sink, email, main);
    expect((await call(a, 'post', '/authentications/{id}/otp', { id: again.res.body.id }, { otp: again.code })).status).toBe(200);
  });

  it('when the blocked device is the user\'s only one, sign-on sends no code to it', async () => {
    const { u, email, a } = await freshUser(t, sink);
    const only = await deviceIdOf(a, email);
    expect((await call(root, 'patch', '/users/{userId}/devices/{id}', { userId: u.id, id: only }, { status: 'BLOCKED' })).status).toBe(200);
    const b = agent(t.app);
    const after = sink.count();
    const res = await login(b, u.username, u.password);
    // Refused, not sent to pairing: with a blocked device, a password alone must not pair another address.
    expect(res.status).toBe(403);
    expect(res.text).toContain('contact your administrator');
    expect((await b.get('/mfa/enroll')).headers.location).not.toBe(undefined);
    expect(mailsSince(sink, after)).toEqual([]);
    expect((await call(root, 'get', '/users/{userId}/devices/{id}', { userId: u.id, id: only })).body.status).toBe('BLOCKED');
    expect((await call(b, 'get', '/devices')).status).toBe(401);
  });
});

describe('admin: unlock and remove all', () => {
  it('unlocks a locked user (204), who can then answer codes again', async () => {
    const { a, u, email } = await freshUser(t, sink);
    const { res: started, code } = await startAuthentication(a, sink, email);
    expectError(await call(a, 'post', '/authentications/{id}/otp', { id: started.body.id }, { otp: wrongCode(code) }), 400, 'INVALID_OTP');
    expectError(await call(a, 'post', '/authentications/{id}/otp', { id: started.body.id }, { otp: wrongCode(code) }), 423, 'LOCKED');
    expectError(await call(a, 'post', '/authentications', {}, {}), 423, 'LOCKED');

    const unlocked = await call(root, 'post', '/users/{userId}/unlock', { userId: u.id }, {});
    expect(unlocked.status).toBe(204);
    expect(eventsOf(t, u.id).filter((e) => e.type === 'user.unlocked')).toHaveLength(1);

    const fresh = await startAuthentication(a, sink, email);
    const done = await call(a, 'post', '/authentications/{id}/otp', { id: fresh.res.body.id }, { otp: fresh.code });
    expect(done.status).toBe(200);
    expect(done.body.status).toBe('COMPLETED');
  });

  it('unlock without a body, and for a user who is not locked, answers 204', async () => {
    const { u } = await freshUser(t, sink);
    expect((await call(root, 'post', '/users/{userId}/unlock', { userId: u.id })).status).toBe(204);
  });

  it('removes all devices of a user (204); the user then pairs an address during the next sign-on', async () => {
    const { a, u } = await freshUser(t, sink);
    const work = addressOf(u, 'work');
    await pairDevice(a, sink, work);
    const removed = await call(root, 'delete', '/users/{userId}/devices', { userId: u.id });
    expect(removed.status).toBe(204);
    expect((await call(root, 'get', '/users/{userId}/devices', { userId: u.id })).body).toEqual({ _embedded: { devices: [] }, count: 0 });
    expect(eventsOf(t, u.id).filter((e) => e.type === 'device.removed')).toHaveLength(2);

    const b = agent(t.app);
    const res = await login(b, u.username, u.password);
    expect(res.headers.location).toBe('/mfa/enroll');
    const after = sink.count();
    expect((await submit(b, '/mfa/enroll', '/mfa/enroll', {})).status).toBe(303);
    const mail = await sink.next(u.email!, { after });
    expect((await submit(b, '/mfa/enroll', '/mfa/enroll/verify', { otp: codeFrom(mail) })).status).toBe(303);
    const paired = await call(b, 'get', '/devices');
    expect(paired.body.count).toBe(1);
    expect(paired.body._embedded.devices[0]).toMatchObject({ email: u.email, status: 'ACTIVE', default: true });
  });
});

describe('admin routes refuse everyone else', () => {
  it('a signed-on user who is not an admin gets 403 FORBIDDEN on every /users route, for others and for themselves; nothing changes', async () => {
    const { a: mallory, u: m } = await freshUser(t, sink, 'mallory');
    const { a: victimAgent, u: victim, email } = await freshUser(t, sink);
    const victimDevice = await deviceIdOf(victimAgent, email);
    const before = (await call(victimAgent, 'get', '/devices')).body;
    const after = sink.count();
    for (const userId of [victim.id, m.id]) {
      for (const [method, template, params, body] of userRoutes(userId, victimDevice)) {
        expectError(await call(mallory, method, template, params, body), 403, 'FORBIDDEN');
      }
    }
    expect((await call(victimAgent, 'get', '/devices')).body).toEqual(before);
    expect(mailsSince(sink, after)).toEqual([]);
  });

  it('without a session every /users route answers 401 UNAUTHENTICATED', async () => {
    const { u, a, email } = await freshUser(t, sink);
    const stranger = agent(t.app);
    for (const [method, template, params, body] of userRoutes(u.id, await deviceIdOf(a, email))) {
      expectError(await call(stranger, method, template, params, body), 401, 'UNAUTHENTICATED');
    }
  });

  it('without the admin option, even root gets 403 on every /users route', async () => {
    const own = appWith(sink);
    const r = await rootSignedOn(own);
    const { u, a, email } = await freshUser(own, sink);
    for (const [method, template, params, body] of userRoutes(u.id, await deviceIdOf(a, email))) {
      expectError(await call(r, method, template, params, body), 403, 'FORBIDDEN');
    }
    expect((await call(a, 'get', '/devices')).body.count).toBe(1);
  });

  it('when the admin option answers false (or a promise of false), root gets 403', async () => {
    for (const admin of [() => false, async () => false, () => 'yes' as unknown as boolean]) {
      const own = appWith(sink, { admin });
      const r = await rootSignedOn(own);
      const { u, a, email } = await freshUser(own, sink);
      for (const [method, template, params, body] of userRoutes(u.id, await deviceIdOf(a, email))) {
        expectError(await call(r, method, template, params, body), 403, 'FORBIDDEN');
      }
    }
  });

  it('an admin option that answers with a promise of true works', async () => {
    const own = appWith(sink, { admin: async (req) => req.user?.admin === true });
    const r = await adminWithFreshMfa(own, sink);
    const { u } = await freshUser(own, sink);
    expect((await call(r, 'get', '/users/{userId}/devices', { userId: u.id })).status).toBe(200);
  });
});
