import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { MfaOptions } from '../../src/index.js';
import { agent, codeOf, createTestApp, csrfOf, enrollAndSignOn, login, submit, type Agent, type TestApp, type TestUser } from '../helpers/app.js';
import { SmtpSink } from '../helpers/smtp.js';
import { alertOf, deviceIdsOf, fakeClock, isSignedOn, MINUTE, noticeOf } from './support.js';

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

const ALICE = 'alice@example.test';
const WORK = 'alice.work@example.test';
const ADDED = /was added/i;
const REMOVED = /was removed/i;

/** Alice, signed on in agent `a` after pairing her profile address during sign-on. */
async function aliceSignedOn(mfa: Partial<MfaOptions<TestUser>> = {}): Promise<{ t: TestApp; a: Agent; alice: TestUser }> {
  const t = createTestApp({ sink, mfa });
  const alice = t.users[0]!;
  const a = agent(t.app);
  const done = await enrollAndSignOn(a, sink, alice);
  expect(done.status).toBe(303);
  return { t, a, alice };
}

/** Adds an address on "Your authentication methods"; returns the device id and where the add form sent the user. */
async function addAddress(a: Agent, email: string, nickname?: string) {
  const res = await submit(a, '/mfa/devices/add?type=email', '/mfa/devices/add', { email, ...(nickname === undefined ? {} : { nickname }) });
  expect(res.status).toBe(303);
  const location = String(res.headers.location);
  const match = /^\/mfa\/devices\/([0-9a-f-]{36})\/activate$/.exec(location);
  expect(match, `add redirected to ${location}`).not.toBeNull();
  return { id: match![1]!, activatePath: location };
}

/** Adds an address and pairs it with the code mailed to it. */
async function addAndPair(a: Agent, email: string, nickname?: string): Promise<string> {
  const after = sink.count();
  const { id, activatePath } = await addAddress(a, email, nickname);
  const mail = await sink.next(email, { after });
  const done = await submit(a, activatePath, activatePath, { otp: codeOf(mail.text) });
  expect(done.status).toBe(303);
  expect(done.headers.location).toBe('/mfa/devices');
  return id;
}

function mailsSince(after: number) {
  return sink.received.slice(after);
}

describe('"Your authentication methods"', () => {
  it('lists the paired address, and sends a signed-out visitor to sign on', async () => {
    const { t, a } = await aliceSignedOn();
    const page = await a.get('/mfa/devices');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<h1>Your authentication methods</h1>');
    expect(page.text).toContain(ALICE);
    expect(page.text).toContain('Default');
    expect(page.text).toContain('href="/mfa/devices/add"');

    const stranger = agent(t.app);
    const refused = await stranger.get('/mfa/devices');
    expect(refused.status).toBe(303);
    expect(refused.headers.location).toBe('/login');
  });

  it('adds a second address right after sign-on and pairs it with the mailed code; the other active address is told', async () => {
    const { t, a } = await aliceSignedOn();
    // "Add a method" offers a choice of method types first, with no form of its own.
    const choice = await a.get('/mfa/devices/add');
    expect(choice.status).toBe(200);
    expect(choice.text).toContain('<h1>Add an authentication method</h1>');
    expect(choice.text).toContain('href="/mfa/devices/add?type=email"');
    expect(choice.text).toContain('href="/mfa/devices/add?type=totp"');
    expect(choice.text).not.toContain('action="/mfa/devices/add"');
    // The email form is the choice of type=email; it names its type in a hidden field.
    const form = await a.get('/mfa/devices/add?type=email');
    expect(form.status).toBe(200);
    expect(form.text).toContain('<h1>Add an email address</h1>');
    expect(form.text).toContain('action="/mfa/devices/add"');
    expect(form.text).toContain('<input type="hidden" name="type" value="email">');
    expect(form.text).toContain('name="email"');

    const after = sink.count();
    const { id, activatePath } = await addAddress(a, WORK, 'Work');
    const pairing = await sink.next(WORK, { after });
    expect(pairing.subject).toMatch(/confirm this email address/i);
    expect((await t.auth.devices.get('u1', id)).status).toBe('ACTIVATION_REQUIRED');

    const activatePage = await a.get(activatePath);
    expect(activatePage.status).toBe(200);
    expect(activatePage.text).toContain('<h1>Confirm your email address</h1>');
    expect(activatePage.text).toContain(WORK);
    expect(noticeOf(activatePage.text)).toMatch(/We sent a code to/);

    // A wrong code leaves it unpaired and says so.
    const code = codeOf(pairing.text);
    const wrong = code === '000000' ? '111111' : '000000';
    const refused = await submit(a, activatePath, activatePath, { otp: wrong });
    expect(refused.status).toBe(400);
    expect(alertOf(refused.text)).toMatch(/not right/);
    expect((await t.auth.devices.get('u1', id)).status).toBe('ACTIVATION_REQUIRED');

    const beforeActivation = sink.count();
    const done = await submit(a, activatePath, activatePath, { otp: code });
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe('/mfa/devices');
    const device = await t.auth.devices.get('u1', id);
    expect(device).toMatchObject({ label: WORK, details: { email: WORK }, nickname: 'Work', status: 'ACTIVE', default: false });

    // The notice went to the address that was already active, not to the new one.
    const notice = await sink.next(ALICE, { after: beforeActivation, subject: ADDED });
    expect(notice.text).toContain(WORK);
    expect(mailsSince(beforeActivation).filter((m) => m.to.includes(WORK))).toHaveLength(0);

    const list = await a.get('/mfa/devices');
    // The notice names the device by its nickname; the list shows the address under it, with the method.
    expect(noticeOf(list.text)).toBe('Work is now one of your authentication methods.');
    expect(list.text).toContain('<strong>Work</strong>');
    expect(list.text).toContain(`<div class="mfa-help">${WORK} · Email</div>`);
    expect(list.text).not.toContain('Not confirmed');
  });

  it('resends a pairing code after the cooldown; the earlier code stops working', async () => {
    const { t, a } = await aliceSignedOn();
    const after = sink.count();
    const { id, activatePath } = await addAddress(a, WORK);
    const first = codeOf((await sink.next(WORK, { after })).text);

    const tooSoon = await submit(a, activatePath, `/mfa/devices/${id}/resend`);
    expect(tooSoon.status).toBe(429);
    expect(alertOf(tooSoon.text)).toMatch(/Please wait \d+ seconds/);

    const clock = fakeClock();
    clock.advance(31_000);
    const beforeResend = sink.count();
    const resent = await submit(a, activatePath, `/mfa/devices/${id}/resend`);
    expect(resent.status).toBe(303);
    expect(resent.headers.location).toBe(activatePath);
    const second = codeOf((await sink.next(WORK, { after: beforeResend })).text);
    expect(noticeOf((await a.get(activatePath)).text)).toMatch(/Earlier codes no longer work/);

    if (first !== second) {
      const stale = await submit(a, activatePath, activatePath, { otp: first });
      expect(stale.status).toBe(400);
    }
    const done = await submit(a, activatePath, activatePath, { otp: second });
    expect(done.headers.location).toBe('/mfa/devices');
    expect((await t.auth.devices.get('u1', id)).status).toBe('ACTIVE');
    // The activation page of an active device goes back to the list.
    expect((await a.get(activatePath)).headers.location).toBe('/mfa/devices');
  });

  it('asks for a fresh code before adding once the last MFA is older than 10 minutes, then comes back to the add page', async () => {
    const { t, a } = await aliceSignedOn();
    const clock = fakeClock();
    clock.advance(11 * MINUTE);

    const stale = await a.get('/mfa/devices/add');
    expect(stale.status).toBe(303);
    expect(stale.headers.location).toBe('/mfa/challenge');

    // Posting the form directly is refused the same way, and creates nothing.
    const direct = await submit(a, '/mfa/devices', '/mfa/devices/add', { email: WORK });
    expect(direct.status).toBe(303);
    expect(direct.headers.location).toBe('/mfa/challenge');
    expect(await t.auth.devices.list('u1')).toHaveLength(1);

    // The email form itself too; the step-up then comes back to that form, the last page asked for.
    const staleForm = await a.get('/mfa/devices/add?type=email');
    expect(staleForm.status).toBe(303);
    expect(staleForm.headers.location).toBe('/mfa/challenge');

    const challenge = await a.get('/mfa/challenge');
    expect(challenge.status).toBe(200);
    expect(challenge.text).toContain('Confirm it is you');
    expect(challenge.text).toContain('action="/mfa/challenge/send"');
    expect(challenge.text).toContain('Send code');
    expect(challenge.text).not.toContain('name="otp"');

    const after = sink.count();
    const [deviceId] = deviceIdsOf(challenge.text);
    const sent = await a.post('/mfa/challenge/send').type('form').send({ _mfa_csrf: csrfOf(challenge.text), deviceId: deviceId! });
    expect(sent.status).toBe(303);
    expect(sent.headers.location).toBe('/mfa/challenge');
    const mail = await sink.next(ALICE, { after });
    expect(mail.subject).toMatch(/confirm it is you/i);

    const answered = await submit(a, '/mfa/challenge', '/mfa/challenge', { otp: codeOf(mail.text) });
    expect(answered.status).toBe(303);
    expect(answered.headers.location).toBe('/mfa/devices/add?type=email');

    const form = await a.get('/mfa/devices/add?type=email');
    expect(form.status).toBe(200);
    expect(form.text).toContain('<h1>Add an email address</h1>');
    expect((await a.get('/mfa/devices/add')).status).toBe(200);
    const id = await addAndPair(a, WORK);
    expect((await t.auth.devices.get('u1', id)).status).toBe('ACTIVE');
  });

  it('renames a method and makes it the default; the next sign-on sends the code to the new default', async () => {
    const { t, a } = await aliceSignedOn();
    const first = (await t.auth.devices.list('u1'))[0]!;
    const id = await addAndPair(a, WORK);

    const renamed = await submit(a, '/mfa/devices', `/mfa/devices/${id}/rename`, { nickname: '  Work laptop  ' });
    expect(renamed.status).toBe(303);
    expect(renamed.headers.location).toBe('/mfa/devices');
    expect((await t.auth.devices.get('u1', id)).nickname).toBe('Work laptop');
    const list = await a.get('/mfa/devices');
    expect(noticeOf(list.text)).toBe('The method was renamed.');
    expect(list.text).toContain('<strong>Work laptop</strong>');

    const markup = await submit(a, '/mfa/devices', `/mfa/devices/${id}/rename`, { nickname: '<img src=x onerror=alert(1)>' });
    expect(markup.status).toBe(303);
    const escaped = await a.get('/mfa/devices');
    expect(escaped.text).not.toContain('<img src=x');
    expect(escaped.text).toContain('&lt;img src=x onerror=alert(1)&gt;');
    await submit(a, '/mfa/devices', `/mfa/devices/${id}/rename`, { nickname: 'Work laptop' });

    const tooLong = await submit(a, '/mfa/devices', `/mfa/devices/${id}/rename`, { nickname: 'x'.repeat(65) });
    expect(tooLong.status).toBe(400);
    expect(alertOf(tooLong.text)).toMatch(/at most 64 characters/);

    const made = await submit(a, '/mfa/devices', `/mfa/devices/${id}/default`);
    expect(made.status).toBe(303);
    const devices = await t.auth.devices.list('u1');
    expect(devices.find((d) => d.id === id)!.default).toBe(true);
    expect(devices.find((d) => d.id === first.id)!.default).toBe(false);

    const b = agent(t.app);
    const after = sink.count();
    const res = await login(b, 'alice', 'pw-alice');
    expect(res.headers.location).toBe('/mfa/challenge');
    const mail = await sink.next(WORK, { after });
    expect(mail.subject).toMatch(/sign-on code/i);
    const page = await b.get('/mfa/challenge');
    expect(page.text).toContain('Work laptop (a');
    const done = await submit(b, '/mfa/challenge', '/mfa/challenge', { otp: codeOf(mail.text) });
    expect(done.status).toBe(303);
    expect(await isSignedOn(b)).toBe(true);
    expect(mailsSince(after).filter((m) => m.to.includes(ALICE))).toHaveLength(0);
  });

  it('lets the user choose another method on the challenge page', async () => {
    const { t, a } = await aliceSignedOn();
    const workId = await addAndPair(a, WORK, 'Work');

    const b = agent(t.app);
    const after = sink.count();
    await login(b, 'alice', 'pw-alice');
    const first = await sink.next(ALICE, { after });

    const page = await b.get('/mfa/challenge');
    expect(page.status).toBe(200);
    expect(page.text).toContain('Use another method');
    expect(page.text).toContain('Send a code to Work (');
    expect(deviceIdsOf(page.text)).toEqual([workId]);

    const beforeSwitch = sink.count();
    const switched = await b.post('/mfa/challenge/send').type('form').send({ _mfa_csrf: csrfOf(page.text), deviceId: workId });
    expect(switched.status).toBe(303);
    expect(switched.headers.location).toBe('/mfa/challenge');
    const second = await sink.next(WORK, { after: beforeSwitch });

    const now = await b.get('/mfa/challenge');
    expect(noticeOf(now.text)).toMatch(/We sent a code to a/);
    expect(now.text).toContain('Work (');

    // The code sent to the first address no longer answers.
    if (codeOf(first.text) !== codeOf(second.text)) {
      const stale = await submit(b, '/mfa/challenge', '/mfa/challenge', { otp: codeOf(first.text) });
      expect(stale.status).toBe(400);
      expect(await isSignedOn(b)).toBe(false);
    }
    const done = await submit(b, '/mfa/challenge', '/mfa/challenge', { otp: codeOf(second.text) });
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe('/');
    expect(await isSignedOn(b)).toBe(true);
  });

  it('removes a method: the removed address and the remaining active ones are told', async () => {
    const { t, a } = await aliceSignedOn({ limits: { sendLimit: 20 } });
    const workId = await addAndPair(a, WORK);
    const homeId = await addAndPair(a, 'alice.home@example.test');

    const after = sink.count();
    const removed = await submit(a, '/mfa/devices', `/mfa/devices/${workId}/remove`);
    expect(removed.status).toBe(303);
    expect(removed.headers.location).toBe('/mfa/devices');
    expect((await t.auth.devices.list('u1')).map((d) => d.label)).toEqual([ALICE, 'alice.home@example.test']);

    for (const to of [WORK, ALICE, 'alice.home@example.test']) {
      const notice = await sink.next(to, { after, subject: REMOVED });
      expect(notice.text).toContain(WORK);
    }
    const list = await a.get('/mfa/devices');
    expect(noticeOf(list.text)).toBe(`${WORK} was removed.`);
    expect(list.text).not.toContain(`aria-label="Remove ${WORK}"`);
    expect(list.text).toContain(`aria-label="Remove alice.home@example.test"`);
    expect(list.text).toContain(`/mfa/devices/${homeId}/rename`);
  });

  it('a code already sent to a method stops working once that method is removed', async () => {
    const { t, a } = await aliceSignedOn();
    const first = (await t.auth.devices.list('u1'))[0]!;
    await addAndPair(a, WORK);

    // Someone with the password starts a sign-on; the code goes to the default (first) address.
    const b = agent(t.app);
    const after = sink.count();
    expect((await login(b, 'alice', 'pw-alice')).headers.location).toBe('/mfa/challenge');
    const code = codeOf((await sink.next(ALICE, { after })).text);

    // Alice removes that address (a mailbox she no longer trusts).
    const removed = await submit(a, '/mfa/devices', `/mfa/devices/${first.id}/remove`);
    expect(removed.status).toBe(303);
    expect((await t.auth.devices.list('u1')).map((d) => d.label)).toEqual([WORK]);

    const answered = await submit(b, '/mfa/challenge', '/mfa/challenge', { otp: code });
    expect(answered.status).not.toBe(303);
    expect(await isSignedOn(b)).toBe(false);
    expect(t.events.filter((e) => e.type === 'signon.completed')).toHaveLength(1);
  });

  it('passes the default on when the default method is removed', async () => {
    const { t, a } = await aliceSignedOn();
    const first = (await t.auth.devices.list('u1'))[0]!;
    const workId = await addAndPair(a, WORK);
    const removed = await submit(a, '/mfa/devices', `/mfa/devices/${first.id}/remove`);
    expect(removed.status).toBe(303);
    const [left] = await t.auth.devices.list('u1');
    expect(left).toMatchObject({ id: workId, default: true, status: 'ACTIVE' });
  });

  it('asks for a fresh code before removing once the last MFA is older than 10 minutes', async () => {
    const { t, a } = await aliceSignedOn();
    const workId = await addAndPair(a, WORK);
    const clock = fakeClock();
    clock.advance(11 * MINUTE);

    const stale = await submit(a, '/mfa/devices', `/mfa/devices/${workId}/remove`);
    expect(stale.status).toBe(303);
    expect(stale.headers.location).toBe('/mfa/challenge');
    expect(await t.auth.devices.list('u1')).toHaveLength(2);

    const page = await a.get('/mfa/challenge');
    const after = sink.count();
    await a.post('/mfa/challenge/send').type('form').send({ _mfa_csrf: csrfOf(page.text), deviceId: deviceIdsOf(page.text)[0]! });
    const mail = await sink.next(ALICE, { after });
    const answered = await submit(a, '/mfa/challenge', '/mfa/challenge', { otp: codeOf(mail.text) });
    expect(answered.headers.location).toBe('/mfa/devices');

    const removed = await submit(a, '/mfa/devices', `/mfa/devices/${workId}/remove`);
    expect(removed.status).toBe(303);
    expect(await t.auth.devices.list('u1')).toHaveLength(1);
  });

  it('refuses to remove the only active method', async () => {
    const { t, a } = await aliceSignedOn();
    const [only] = await t.auth.devices.list('u1');
    const after = sink.count();
    const refused = await submit(a, '/mfa/devices', `/mfa/devices/${only!.id}/remove`);
    expect(refused.status).toBe(400);
    expect(alertOf(refused.text)).toMatch(/only method/);
    expect(refused.text).toContain('Your authentication methods');
    expect(await t.auth.devices.list('u1')).toHaveLength(1);
    expect(mailsSince(after)).toHaveLength(0);
  });

  it('refuses a sixth method with LIMIT_EXCEEDED (methods.email.maxDevices, default 5)', async () => {
    const { t, a } = await aliceSignedOn({ limits: { sendLimit: 20 } });
    for (let i = 2; i <= 5; i++) await addAddress(a, `alice${i}@example.test`);
    expect(await t.auth.devices.list('u1')).toHaveLength(5);

    const list = await a.get('/mfa/devices');
    expect(list.text).not.toContain('href="/mfa/devices/add"');
    expect(list.text).toContain('as many methods as allowed');

    const after = sink.count();
    const refused = await submit(a, '/mfa/devices/add?type=email', '/mfa/devices/add', { email: 'alice6@example.test' });
    expect(refused.status).toBe(409);
    expect(alertOf(refused.text)).toContain('at most 5 authentication methods');
    expect(await t.auth.devices.list('u1')).toHaveLength(5);
    expect(mailsSince(after)).toHaveLength(0);
  });

  it('honours a smaller methods.email.maxDevices', async () => {
    const { t, a } = await aliceSignedOn({ limits: { maxDevices: 2 } });
    await addAddress(a, WORK);
    const refused = await submit(a, '/mfa/devices/add?type=email', '/mfa/devices/add', { email: 'alice3@example.test' });
    expect(refused.status).toBe(409);
    expect(alertOf(refused.text)).toContain('at most 2 authentication methods');
    expect(await t.auth.devices.list('u1')).toHaveLength(2);
  });

  it('refuses an address that is already paired, in any letter case, and an invalid one', async () => {
    const { t, a } = await aliceSignedOn();
    const after = sink.count();
    for (const email of [ALICE, 'ALICE@Example.TEST']) {
      const refused = await submit(a, '/mfa/devices/add?type=email', '/mfa/devices/add', { email });
      expect(refused.status).toBe(409);
      expect(alertOf(refused.text)).toContain('already one of your authentication methods');
    }
    // Posted as the email form does (its hidden type=email): the form comes back with the field marked.
    const invalid = await submit(a, '/mfa/devices/add?type=email', '/mfa/devices/add', { type: 'email', email: 'not an address' });
    expect(invalid.status).toBe(400);
    expect(invalid.text).toContain('<h1>Add an email address</h1>');
    expect(invalid.text).toContain('aria-invalid="true"');
    expect(await t.auth.devices.list('u1')).toHaveLength(1);
    expect(mailsSince(after)).toHaveLength(0);
  });

  it('refuses a form without the CSRF token', async () => {
    const { t, a } = await aliceSignedOn();
    const res = await a.post('/mfa/devices/add').type('form').send({ email: WORK });
    expect(res.status).toBe(403);
    expect(await t.auth.devices.list('u1')).toHaveLength(1);
  });

  it("cannot touch another user's device", async () => {
    const { t, a } = await aliceSignedOn();
    const bob = t.users[1]!;
    await enrollAndSignOn(agent(t.app), sink, bob);
    const [bobs] = await t.auth.devices.list('u2');
    const res = await submit(a, '/mfa/devices', `/mfa/devices/${bobs!.id}/remove`);
    expect(res.status).toBe(404);
    const rename = await submit(a, '/mfa/devices', `/mfa/devices/${bobs!.id}/rename`, { nickname: 'mine' });
    expect(rename.status).toBe(404);
    expect(await t.auth.devices.list('u2')).toMatchObject([{ id: bobs!.id, nickname: null }]);
  });
});
