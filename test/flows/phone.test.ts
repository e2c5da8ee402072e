/**
 * Text messages and voice calls on the pages. A recording `send` stands in
 * for the app's SMS gateway (outside the machine): each call is kept, and the
 * tests read the code off it. Pairing a number (Add method → Text message),
 * then a sign-on that switches to it ("Use another method"); the masked
 * number on the challenge page; a bad number; a gateway that throws; the
 * per-recipient quota of pairing codes across accounts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agent, createTestApp, enrollAndSignOn, login, submit, type Agent, type TestApp, type TestUser } from '../helpers/app.js';
import { SmtpSink } from '../helpers/smtp.js';
import type { MfaOptions, PhoneMessage } from '../../src/index.js';
import { alertOf, deviceIdsOf, isSignedOn } from './support.js';

let sink: SmtpSink;
beforeAll(async () => {
  sink = await SmtpSink.start();
});
afterAll(async () => {
  await sink.close();
});

let n = 0;
function newUser(t: TestApp): TestUser {
  n += 1;
  const u: TestUser = { id: `tel${n}`, username: `tel${n}`, password: `pw-tel${n}`, email: `tel${n}@example.test` };
  t.users.push(u);
  return u;
}

/** An app whose gateway records every message; `fail` makes it throw. */
function app(mfa: Partial<MfaOptions<TestUser>> = {}) {
  const sent: PhoneMessage[] = [];
  const gateway = { fail: false };
  const send = async (message: PhoneMessage) => {
    if (gateway.fail) throw new Error('gateway down');
    sent.push(message);
  };
  const t = createTestApp({ sink, mfa: { methods: { sms: { send, defaultCountry: 'FR' }, voice: { send, defaultCountry: 'FR' } }, ...mfa } });
  return { t, sent, gateway };
}

/** A user signed on (email paired at sign-on), with a fresh MFA. */
async function signedOnUser(t: TestApp): Promise<{ u: TestUser; a: Agent }> {
  const u = newUser(t);
  const a = agent(t.app);
  expect((await enrollAndSignOn(a, sink, u)).status).toBe(303);
  return { u, a };
}

/** Pairs a number on the pages: the form, the code from the recorded send, activation. Returns the device id. */
async function pairPhone(a: Agent, sent: PhoneMessage[], type: 'sms' | 'voice', phone: string): Promise<string> {
  const form = await a.get(`/mfa/devices/add?type=${type}`);
  expect(form.status).toBe(200);
  expect(form.text).toMatch(/<input id="phone" name="phone" type="tel" autocomplete="tel"/);
  const before = sent.length;
  const added = await submit(a, `/mfa/devices/add?type=${type}`, '/mfa/devices/add', { type, phone });
  expect(added.status, added.text).toBe(303);
  const location = added.headers.location as string;
  const id = /^\/mfa\/devices\/([^/]+)\/activate$/.exec(location)![1]!;
  expect(sent.length).toBe(before + 1);
  const message = sent.at(-1)!;
  expect(message).toMatchObject({ purpose: 'pairing', channel: type, locale: 'en' });
  const done = await submit(a, location, location, { otp: message.code });
  expect(done.status, done.text).toBe(303);
  expect(done.headers.location).toBe('/mfa/devices');
  return id;
}

/** Signs on with the password, then switches from the emailed code to `deviceId`; returns the message sent to it. */
async function switchTo(a: Agent, u: TestUser, sent: PhoneMessage[], deviceId: string): Promise<PhoneMessage> {
  const after = sink.count();
  await login(a, u.username, u.password);
  await sink.next(u.email!, { after, subject: /sign-on code/ });
  const page = (await a.get('/mfa/challenge')).text;
  expect(deviceIdsOf(page)).toContain(deviceId);
  const before = sent.length;
  const switched = await submit(a, '/mfa/challenge', '/mfa/challenge/send', { deviceId });
  expect(switched.status, switched.text).toBe(303);
  expect(sent.length).toBe(before + 1);
  return sent.at(-1)!;
}

describe('text messages on the pages', () => {
  it('pairs a number typed the national way, and a sign-on by text message has amr sms', async () => {
    const { t, sent } = app();
    const { u, a } = await signedOnUser(t);
    const id = await pairPhone(a, sent, 'sms', '06 12 34 56 78');
    expect(sent.at(-1)).toMatchObject({ to: '+33612345678' });
    expect(sent.at(-1)!.text).toBe(`Your code to confirm this number for express-mfa: ${sent.at(-1)!.code}. If you did not ask for it, ignore this message.`);
    const device = (await t.auth.devices.list(u.id)).find((d) => d.id === id)!;
    expect(device).toMatchObject({ type: 'sms', status: 'ACTIVE', label: '+33 6 12 34 56 78', details: { phone: '+33612345678' } });
    expect((await a.get('/mfa/devices')).text).toContain('+33 6 12 34 56 78');

    const b = agent(t.app);
    const message = await switchTo(b, u, sent, id);
    expect(message).toMatchObject({ to: '+33612345678', purpose: 'signon', channel: 'sms', locale: 'en' });
    expect(message.code).toMatch(/^\d{6}$/);
    expect(message.text).toBe(`Your express-mfa sign-on code is ${message.code}. Do not share it.`);
    const prompt = (await b.get('/mfa/challenge')).text;
    expect(prompt).toContain('We sent a <strong>6</strong>-digit code by text message to <strong>+33 •• •• •• 78</strong>.');
    const done = await submit(b, '/mfa/challenge', '/mfa/challenge', { otp: message.code });
    expect(done.status).toBe(303);
    expect(await isSignedOn(b)).toBe(true);
    expect(t.events.filter((e) => e.userId === u.id && e.type === 'signon.completed').at(-1)).toMatchObject({ amr: ['pwd', 'sms'] });
    expect(t.events.filter((e) => e.userId === u.id && e.type === 'mfa.succeeded').at(-1)).toMatchObject({ deviceId: id });
  });

  it('shows the number masked before sign-on completes: the country code and the last two digits only', async () => {
    const { t, sent } = app();
    const { u, a } = await signedOnUser(t);
    const id = await pairPhone(a, sent, 'sms', '+33 6 12 34 56 78');
    const b = agent(t.app);
    await switchTo(b, u, sent, id);
    const page = (await b.get('/mfa/challenge')).text;
    expect(page).toContain('+33 •• •• •• 78');
    for (const full of ['+33612345678', '+33 6 12 34 56 78', '612345678', '12 34 56']) expect(page).not.toContain(full);
  });

  it('a bad number shows the form again with the field error, and sends nothing', async () => {
    const { t, sent } = app();
    const { u, a } = await signedOnUser(t);
    for (const phone of ['12', '+33 1', 'call me', '+999 123 456 789']) {
      const res = await submit(a, '/mfa/devices/add?type=sms', '/mfa/devices/add', { type: 'sms', phone });
      expect(res.status).toBe(400);
      expect(alertOf(res.text)).toBe('Enter a phone number with its country code, such as +33 6 12 34 56 78.');
      expect(res.text).toMatch(/<input id="phone" name="phone" type="tel"[^>]*aria-invalid="true"/);
    }
    expect(sent).toEqual([]);
    expect((await t.auth.devices.list(u.id)).map((d) => d.type)).toEqual(['email']);
  });

  it('a gateway that throws is an outage: a 503 page, no device added, nothing signed on', async () => {
    const { t, sent, gateway } = app();
    const { u, a } = await signedOnUser(t);
    gateway.fail = true;
    const res = await submit(a, '/mfa/devices/add?type=sms', '/mfa/devices/add', { type: 'sms', phone: '+33 6 12 34 56 78' });
    expect(res.status).toBe(503);
    expect((await t.auth.devices.list(u.id)).map((d) => d.type)).toEqual(['email']);

    // At sign-on: the switch to the number fails, and the session is not signed on.
    gateway.fail = false;
    const id = await pairPhone(a, sent, 'sms', '+33 6 12 34 56 78');
    const b = agent(t.app);
    const after = sink.count();
    await login(b, u.username, u.password);
    await sink.next(u.email!, { after, subject: /sign-on code/ });
    gateway.fail = true;
    const switched = await submit(b, '/mfa/challenge', '/mfa/challenge/send', { deviceId: id });
    expect(switched.status).toBe(503);
    expect(await isSignedOn(b)).toBe(false);
    expect(t.events.filter((e) => e.userId === u.id && e.type === 'otp.sent' && e.deviceId === id && e.reason === 'signon')).toEqual([]);
  });

  it('pairing one number from several accounts stops after limits.recipientSendLimit codes', async () => {
    const { t, sent } = app({ limits: { recipientSendLimit: 2 } });
    const answers: number[] = [];
    for (let i = 0; i < 3; i++) {
      const { a } = await signedOnUser(t);
      answers.push((await submit(a, '/mfa/devices/add?type=sms', '/mfa/devices/add', { type: 'sms', phone: '+33 6 99 88 77 66' })).status);
    }
    expect(answers).toEqual([303, 303, 429]);
    expect(sent.filter((m) => m.to === '+33699887766')).toHaveLength(2);
  });
});

describe('voice calls on the pages', () => {
  it('pairs a number, reads the code digit by digit, and a sign-on by call has amr tel', async () => {
    const { t, sent } = app();
    const { u, a } = await signedOnUser(t);
    const id = await pairPhone(a, sent, 'voice', '01 23 45 67 89');
    const pairing = sent.at(-1)!;
    expect(pairing.to).toBe('+33123456789');
    const spoken = pairing.code.split('').join(', ');
    expect(pairing.text).toBe(`Your code to confirm this number for express-mfa is ${spoken}. Again: ${spoken}.`);

    const b = agent(t.app);
    const message = await switchTo(b, u, sent, id);
    expect(message).toMatchObject({ to: '+33123456789', purpose: 'signon', channel: 'voice' });
    expect(message.text).toMatch(/^Your express-mfa sign-on code is \d(, \d){5}\. Again: \d(, \d){5}\.$/);
    expect(message.text).toContain(message.code.split('').join(', '));
    const prompt = (await b.get('/mfa/challenge')).text;
    expect(prompt).toContain('We are calling <strong>+33 •• •• •• 89</strong> to read you a <strong>6</strong>-digit code.');
    const done = await submit(b, '/mfa/challenge', '/mfa/challenge', { otp: message.code });
    expect(done.status).toBe(303);
    expect(await isSignedOn(b)).toBe(true);
    expect(t.events.filter((e) => e.userId === u.id && e.type === 'signon.completed').at(-1)).toMatchObject({ amr: ['pwd', 'tel'] });
  });

  it('sends French to a French page', async () => {
    const { t, sent } = app();
    const { a } = await signedOnUser(t);
    a.set('Accept-Language', 'fr');
    const added = await submit(a, '/mfa/devices/add?type=voice', '/mfa/devices/add', { type: 'voice', phone: '+33 1 23 45 67 89' });
    expect(added.status).toBe(303);
    const message = sent.at(-1)!;
    const spoken = message.code.split('').join(', ');
    expect(message).toMatchObject({ locale: 'fr', purpose: 'pairing', channel: 'voice' });
    expect(message.text).toBe(`Votre code pour confirmer ce numéro sur express-mfa est ${spoken}. Je répète : ${spoken}.`);
  });
});
