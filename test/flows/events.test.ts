import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MfaEvent } from '../../src/index.js';
import { agent, codeOf, createTestApp, csrfOf, login, submit, type Agent } from '../helpers/app.js';
import { SmtpSink } from '../helpers/smtp.js';

let sink: SmtpSink;
beforeAll(async () => {
  sink = await SmtpSink.start();
});
afterAll(async () => {
  await sink.close();
});

const ALICE = 'alice@example.test';
const UA = 'events-test-browser/1.0';

function browser(app: Parameters<typeof agent>[0]): Agent {
  const a = agent(app);
  a.set('User-Agent', UA);
  return a;
}

function wrongCode(code: string): string {
  return code === '000000' ? '111111' : '000000';
}

function expectFromBrowser(event: MfaEvent | undefined): void {
  expect(event).toBeDefined();
  expect(event!.ip).toMatch(/^(::ffff:)?127\.0\.0\.1$/);
  expect(event!.userAgent).toBe(UA);
  expect(event!.at).toBeInstanceOf(Date);
}

describe('audit events (auth.on("event"))', () => {
  it('reports pairing, a wrong code, success and sign-on, with user, device, ip and user agent, and never a code', async () => {
    const t = createTestApp({ sink });
    const events: MfaEvent[] = [];
    t.auth.on('event', (e) => events.push(e));
    const codes: string[] = [];

    // First sign-on: pair the profile address, with one wrong answer first.
    const a = browser(t.app);
    await login(a, 'alice', 'pw-alice');
    const enrollPage = await a.get('/mfa/enroll');
    const after = sink.count();
    await a.post('/mfa/enroll').type('form').send({ _mfa_csrf: csrfOf(enrollPage.text) });
    const pairing = codeOf((await sink.next(ALICE, { after })).text);
    codes.push(pairing);
    const wrong = await submit(a, '/mfa/enroll', '/mfa/enroll/verify', { otp: wrongCode(pairing) });
    expect(wrong.status).toBe(400);
    const done = await submit(a, '/mfa/enroll', '/mfa/enroll/verify', { otp: pairing });
    expect(done.status).toBe(303);

    const [device] = await t.auth.devices.list('u1');
    const deviceId = device!.id;

    const created = events.find((e) => e.type === 'device.created');
    expect(created).toMatchObject({ userId: 'u1', deviceId });
    expectFromBrowser(created);

    const sent = events.find((e) => e.type === 'otp.sent');
    expect(sent).toMatchObject({ userId: 'u1', deviceId, reason: 'pairing' });
    expectFromBrowser(sent);

    const failed = events.find((e) => e.type === 'mfa.failed');
    expect(failed).toMatchObject({ userId: 'u1', reason: 'INVALID_OTP' });
    expectFromBrowser(failed);

    const succeeded = events.find((e) => e.type === 'mfa.succeeded');
    expect(succeeded).toMatchObject({ userId: 'u1', deviceId });
    expectFromBrowser(succeeded);

    const activated = events.find((e) => e.type === 'device.activated');
    expect(activated).toMatchObject({ userId: 'u1', deviceId });
    expectFromBrowser(activated);

    const completed = events.find((e) => e.type === 'signon.completed');
    expect(completed).toMatchObject({ userId: 'u1', amr: ['pwd', 'otp'] });
    expectFromBrowser(completed);

    expect(events.map((e) => e.type)).toEqual([
      'device.created',
      'otp.sent',
      'mfa.failed',
      'mfa.succeeded',
      'device.activated',
      'signon.completed',
    ]);

    // Second sign-on: a code to the paired device.
    const b = browser(t.app);
    const before = events.length;
    const afterLogin = sink.count();
    await login(b, 'alice', 'pw-alice');
    const signon = codeOf((await sink.next(ALICE, { after: afterLogin })).text);
    codes.push(signon);
    expect((await submit(b, '/mfa/challenge', '/mfa/challenge', { otp: wrongCode(signon) })).status).toBe(400);
    expect((await submit(b, '/mfa/challenge', '/mfa/challenge', { otp: signon })).status).toBe(303);
    const second = events.slice(before);
    expect(second.map((e) => e.type)).toEqual(['otp.sent', 'mfa.failed', 'mfa.succeeded', 'signon.completed']);
    expect(second[0]).toMatchObject({ userId: 'u1', deviceId, reason: 'signon' });
    expect(second[2]).toMatchObject({ userId: 'u1', deviceId });
    for (const e of second) expectFromBrowser(e);

    // The test app's own listener saw the same events.
    expect(t.events.map((e) => e.type)).toEqual(events.map((e) => e.type));

    const json = JSON.stringify(events);
    for (const code of codes) expect(json).not.toContain(code);
    for (const e of events) expect(Object.keys(e)).not.toContain('code');
  });

  it('reports adding, renaming, making default and removing a method', async () => {
    const t = createTestApp({ sink });
    const a = browser(t.app);
    await login(a, 'alice', 'pw-alice');
    let after = sink.count();
    await submit(a, '/mfa/enroll', '/mfa/enroll', {});
    await submit(a, '/mfa/enroll', '/mfa/enroll/verify', { otp: codeOf((await sink.next(ALICE, { after })).text) });
    const first = (await t.auth.devices.list('u1'))[0]!;

    after = sink.count();
    const added = await submit(a, '/mfa/devices/add?type=email', '/mfa/devices/add', { email: 'alice2@example.test' });
    const activatePath = String(added.headers.location);
    const code = codeOf((await sink.next('alice2@example.test', { after })).text);
    await submit(a, activatePath, activatePath, { otp: code });
    const second = (await t.auth.devices.list('u1'))[1]!;
    expect(second.status).toBe('ACTIVE');

    const from = t.events.length;
    await submit(a, '/mfa/devices', `/mfa/devices/${second.id}/rename`, { nickname: 'Spare' });
    await submit(a, '/mfa/devices', `/mfa/devices/${second.id}/default`);
    await submit(a, '/mfa/devices', `/mfa/devices/${first.id}/remove`);
    const changes = t.events.slice(from);
    expect(changes.map((e) => [e.type, e.deviceId])).toEqual([
      ['device.renamed', second.id],
      ['device.default', second.id],
      ['device.removed', first.id],
    ]);
    for (const e of changes) {
      expect(e.userId).toBe('u1');
      expectFromBrowser(e);
    }
    expect(JSON.stringify(t.events)).not.toContain(code);
  });

  it('stops calling a listener after auth.off', async () => {
    const t = createTestApp({ sink });
    const seen: string[] = [];
    const listener = (e: MfaEvent) => seen.push(e.type);
    t.auth.on('event', listener);
    await login(agent(t.app), 'root', 'pw-root');
    expect(seen).toEqual(['signon.completed']);
    t.auth.off('event', listener);
    await login(agent(t.app), 'root', 'pw-root');
    expect(seen).toEqual(['signon.completed']);
    expect(t.events.map((e) => e.type)).toEqual(['signon.completed', 'signon.completed']);
  });

  it('a throwing listener neither fails the sign-on nor keeps the event from the other listeners', async () => {
    const t = createTestApp({ sink });
    const seen: string[] = [];
    t.auth.on('event', () => {
      throw new Error('listener bug');
    });
    t.auth.on('event', (e) => seen.push(e.type));
    const a = agent(t.app);
    const res = await login(a, 'root', 'pw-root');
    expect(res.headers.location).toBe('/');
    expect((await a.get('/account')).text).toBe('account of root');
    expect(t.logs.some((l) => l.level === 'error' && /listener threw/.test(l.message))).toBe(true);
    // An audit listener registered after a buggy one still gets the record.
    expect(seen).toEqual(['signon.completed']);
  });
});
