/**
 * Emails are built from validated addresses only: one plain address, no
 * header injection, no extra recipients. A refused address sends nothing.
 */
import { describe, expect, it } from 'vitest';
import { parseEmailAddress } from '../../src/methods/email/address.js';
import { agent, codeOf, createTestApp, login, submit } from '../helpers/app.js';
import { answer, pairDevice, startSignOn, useSink } from './support.js';

const sink = useSink();

const BAD_ADDRESSES = [
  'victim@example.test\r\nBcc: evil@evil.test',
  'victim@example.test\nBcc: evil@evil.test',
  'victim@example.test\rBcc: evil@evil.test',
  'victim@example.test\r\n\r\nInjected body',
  'victim@example.test%0d%0aBcc:evil@evil.test',
  'victim@example.test, evil@evil.test',
  'victim@example.test,evil@evil.test',
  'victim@example.test; evil@evil.test',
  'victim@example.test evil@evil.test',
  '"x" <victim@example.test>',
  'x <victim@example.test>',
  'Victim <victim@example.test>, evil@evil.test',
  '<victim@example.test>',
  'victim@example.test>',
  '<evil@evil.test>victim@example.test',
  'victim@example.test (comment)',
  '"victim@example.test"@evil.test',
  'victim@example.test\u0000evil@evil.test',
  'victim@evil.test@example.test',
  'undisclosed-recipients:;',
  'group: a@b.test, c@d.test;',
];

describe('parseEmailAddress (unit)', () => {
  it.each(BAD_ADDRESSES)('refuses %j', (address) => {
    expect(() => parseEmailAddress(address)).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
  });

  it('accepts one plain address', () => {
    expect(parseEmailAddress('  Jane.Doe+mfa@Example.TEST ')).toBe('Jane.Doe+mfa@example.test');
  });
});

describe('pairing a user-chosen address', () => {
  it('during sign-on (enrollAddress: any): every bad address is refused with 400, nothing is sent', async () => {
    const t = createTestApp({ sink: sink(), mfa: { policy: { enrollAddress: 'any' } } });
    const e = agent(t.app);
    expect((await login(e, 'bob', 'pw-bob')).headers.location).toBe('/mfa/enroll');
    const before = sink().count();
    for (const email of BAD_ADDRESSES) {
      const res = await submit(e, '/mfa/enroll', '/mfa/enroll', { email });
      expect(res.status, email).toBe(400);
      expect(res.text, email).toContain('Enter one email address');
    }
    // Every request has answered; a send resolves only once the sink has the mail.
    expect(sink().count()).toBe(before);
    expect(await t.auth.devices.list('u2')).toEqual([]);
    expect(t.events.filter((ev) => ev.type === 'otp.sent' || ev.type === 'device.created')).toEqual([]);
    expect((await e.get('/plain')).status).toBe(401);

    // Control: a plain address works, and the mail has exactly that one recipient.
    const after = sink().count();
    expect((await submit(e, '/mfa/enroll', '/mfa/enroll', { email: 'bob.other@example.test' })).status).toBe(303);
    const mail = await sink().next('bob.other@example.test', { after });
    expect(mail.to).toEqual(['bob.other@example.test']);
    expect(mail.headers.has('bcc')).toBe(false);
    expect(mail.headers.has('cc')).toBe(false);
    expect(mail.raw).not.toMatch(/^Bcc:/im);
    expect((await submit(e, '/mfa/enroll', '/mfa/enroll/verify', { otp: codeOf(mail.text) })).status).toBe(303);
  });

  it('on "Your authentication methods": refused with 400, nothing is sent', async () => {
    const t = createTestApp({ sink: sink() });
    const alice = t.users[0]!;
    await pairDevice(t, sink(), 'u1', alice.email!);
    const a = agent(t.app);
    const { code } = await startSignOn(a, sink(), alice);
    expect((await answer(a, code)).status).toBe(303);
    const before = sink().count();
    for (const email of BAD_ADDRESSES) {
      const res = await submit(a, '/mfa/devices/add?type=email', '/mfa/devices/add', { email });
      expect(res.status, email).toBe(400);
      expect(res.text, email).toContain('Enter one email address');
    }
    // A nickname cannot carry a line break either.
    const nick = await submit(a, '/mfa/devices/add?type=email', '/mfa/devices/add', { email: 'ok@example.test', nickname: 'a\r\nBcc: evil@evil.test' });
    expect(nick.status).toBe(400);
    expect(sink().count()).toBe(before);
    expect((await t.auth.devices.list('u1')).map((d) => d.label)).toEqual([alice.email]);
  });

  it('through the programmatic API: VALIDATION_FAILED, nothing is sent', async () => {
    const t = createTestApp({ sink: sink() });
    const before = sink().count();
    for (const email of [...BAD_ADDRESSES, ['a@b.test'], { toString: () => 'a@b.test' }, 42, null]) {
      await expect(t.auth.devices.create('u1', { email }), String(email)).rejects.toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
    }
    expect(sink().count()).toBe(before);
    expect(await t.auth.devices.list('u1')).toEqual([]);
  });

  it("a profile address with a line break is never used (enrollAddress: profile)", async () => {
    const users = [{ id: 'u9', username: 'mallory', password: 'pw', email: 'mallory@example.test\r\nBcc: evil@evil.test' }];
    const t = createTestApp({ sink: sink(), users });
    const m = agent(t.app);
    const before = sink().count();
    expect((await login(m, 'mallory', 'pw')).headers.location).toBe('/mfa/enroll');
    const page = await m.get('/mfa/enroll');
    expect(page.status).toBe(403);
    expect(page.text).toContain('no email address');
    expect((await m.get('/mfa/enroll')).headers.location).toBe('/login');
    expect(sink().count()).toBe(before);
    expect(await t.auth.devices.list('u9')).toEqual([]);
    expect((await m.get('/plain')).status).toBe(401);
  });
});
