/**
 * New-device notices (PingOne's newDeviceNotification): a method added or
 * removed is told through the user's email addresses, else their numbers for
 * text messages ('EMAIL_THEN_SMS', the default), the other way round
 * ('SMS_THEN_EMAIL'), or not at all ('NONE'); a removed device that carries
 * messages is told too. A recording `send` stands in for the SMS gateway;
 * mail arrives over SMTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, codeOf, type TestUser } from '../helpers/app.js';
import { SmtpSink } from '../helpers/smtp.js';
import { totpCode } from '../helpers/totp.js';
import type { MfaOptions, PhoneMessage } from '../../src/index.js';

let sink: SmtpSink;
beforeAll(async () => {
  sink = await SmtpSink.start();
});
afterAll(async () => {
  await sink.close();
});

const PHONE = '+33612345678';
let n = 0;

function app(newDeviceNotification?: MfaOptions['newDeviceNotification']) {
  const sent: PhoneMessage[] = [];
  const t = createTestApp({
    sink,
    mfa: { ...(newDeviceNotification ? { newDeviceNotification } : {}), methods: { sms: { send: async (m: PhoneMessage) => void sent.push(m) } } },
  });
  n += 1;
  const u: TestUser = { id: `note${n}`, username: `note${n}`, password: 'pw', email: `note${n}@example.test` };
  t.users.push(u);
  return { t, sent, u };
}

type App = ReturnType<typeof app>;

async function pairEmail({ t, u }: App): Promise<string> {
  const after = sink.count();
  const { device } = await t.auth.devices.create(u.id, { email: u.email! });
  await t.auth.devices.activate(u.id, device.id, codeOf((await sink.next(u.email!, { after })).text));
  return device.id;
}

async function pairPhone({ t, u, sent }: App): Promise<string> {
  const before = sent.length;
  const { device } = await t.auth.devices.create(u.id, { type: 'sms', phone: PHONE });
  await t.auth.devices.activate(u.id, device.id, sent[before]!.code);
  return device.id;
}

/** Adds an authenticator app (no message of its own) and returns what told the user of it. */
async function addApp(x: App): Promise<{ mails: string[]; texts: PhoneMessage[] }> {
  const mailsBefore = sink.count();
  const textsBefore = x.sent.length;
  const { device, pairing } = await x.t.auth.devices.create(x.u.id, { type: 'totp' });
  await x.t.auth.devices.activate(x.u.id, device.id, totpCode(String(pairing!.secret), Date.now()));
  // Notices are sent before activate() resolves: what came, came.
  return { mails: sink.received.slice(mailsBefore).filter((m) => /was added/.test(m.subject)).map((m) => m.to.join(',')), texts: x.sent.slice(textsBefore) };
}

describe('newDeviceNotification', () => {
  it("'EMAIL_THEN_SMS' (the default): email when the user has an address; the phone is not texted", async () => {
    const x = app();
    await pairEmail(x);
    await pairPhone(x);
    const told = await addApp(x);
    expect(told.mails).toEqual([x.u.email]);
    expect(told.texts).toEqual([]);
  });

  it("'EMAIL_THEN_SMS' with no address: a text message, built by the library, with no code", async () => {
    const x = app('EMAIL_THEN_SMS');
    await pairPhone(x);
    const told = await addApp(x);
    expect(told.mails).toEqual([]);
    expect(told.texts).toEqual([expect.objectContaining({ to: PHONE, purpose: 'notice', channel: 'sms', code: '' })]);
    expect(told.texts[0]!.text).toBe('express-mfa: Authenticator app was added as an authentication method to your account. If this was not you, change your password now.');
  });

  it("'SMS_THEN_EMAIL': the phone, not the address", async () => {
    const x = app('SMS_THEN_EMAIL');
    await pairEmail(x);
    await pairPhone(x);
    const told = await addApp(x);
    expect(told.mails).toEqual([]);
    expect(told.texts.map((m) => [m.to, m.purpose])).toEqual([[PHONE, 'notice']]);
  });

  it("'NONE': nobody is told of a method added", async () => {
    const x = app('NONE');
    await pairEmail(x);
    await pairPhone(x);
    const told = await addApp(x);
    expect(told).toEqual({ mails: [], texts: [] });
  });

  it('a removed address is told of its removal, with the routing\'s choice', async () => {
    const x = app('SMS_THEN_EMAIL');
    const email = await pairEmail(x);
    await pairPhone(x);
    const mailsBefore = sink.count();
    const textsBefore = x.sent.length;
    await x.t.auth.devices.remove(x.u.id, email);
    const removedMail = await sink.next(x.u.email!, { after: mailsBefore, subject: /was removed/ });
    expect(removedMail.text).toContain(x.u.email!);
    expect(x.sent.slice(textsBefore).map((m) => m.text)).toEqual([`express-mfa: ${x.u.email} was removed from the authentication methods of your account. If this was not you, change your password now.`]);
  });

  it('refuses a setting it does not know, naming the ones there are', () => {
    expect(() => createTestApp({ sink, mfa: { newDeviceNotification: 'SMS' as never } })).toThrow("newDeviceNotification must be one of 'NONE', 'EMAIL_THEN_SMS', 'SMS_THEN_EMAIL'");
  });
});
