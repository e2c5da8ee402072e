/**
 * Adding or removing a device needs a recent MFA; the account's email devices
 * are told when a method is added or removed.
 */
import { describe, expect, it } from 'vitest';
import { agent, codeOf, createTestApp, csrfOf, login, submit } from '../helpers/app.js';
import { answer, mailsTo, pairDevice, startSignOn, useFakeDate, useSink } from './support.js';

const sink = useSink();
const clock = useFakeDate();

const ADDED = /method was added/;
const REMOVED = /method was removed/;

describe('adding or removing a method needs a recent MFA', () => {
  it('after recentMfa has passed, add and remove demand a step-up first; then they work and are announced', async () => {
    clock.install();
    const t = createTestApp({ sink: sink() });
    const alice = t.users[0]!;
    await pairDevice(t, sink(), 'u1', alice.email!);
    const d2 = await pairDevice(t, sink(), 'u1', 'alice2@example.test');
    const a = agent(t.app);
    const { code } = await startSignOn(a, sink(), alice);
    expect((await answer(a, code)).status).toBe(303);

    clock.advance(10 * 60_000 + 1000);
    const list = await a.get('/mfa/devices');
    expect(list.status).toBe(200);
    const token = csrfOf(list.text);
    const before = sink().count();

    const addPage = await a.get('/mfa/devices/add');
    expect(addPage.status).toBe(303);
    expect(addPage.headers.location).toBe('/mfa/challenge');
    // The email form itself (the choice of type=email) is refused the same way.
    const emailForm = await a.get('/mfa/devices/add?type=email');
    expect(emailForm.status).toBe(303);
    expect(emailForm.headers.location).toBe('/mfa/challenge');
    const add = await a.post('/mfa/devices/add').type('form').send({ _mfa_csrf: token, email: 'new@example.test' });
    expect(add.status).toBe(303);
    expect(add.headers.location).toBe('/mfa/challenge');
    const remove = await a.post(`/mfa/devices/${d2.id}/remove`).type('form').send({ _mfa_csrf: token });
    expect(remove.status).toBe(303);
    expect(remove.headers.location).toBe('/mfa/challenge');
    const json = await a.post(`/mfa/devices/${d2.id}/remove`).set('Accept', 'application/json').type('form').send({ _mfa_csrf: token });
    expect(json.status).toBe(401);
    expect(json.body.code).toBe('MFA_REQUIRED');

    expect((await t.auth.devices.list('u1')).map((d) => d.label).sort()).toEqual([alice.email, 'alice2@example.test'].sort());
    expect(sink().count()).toBe(before);

    // Step-up: a fresh code to the default device.
    let after = sink().count();
    expect((await submit(a, '/mfa/challenge', '/mfa/challenge/send')).status).toBe(303);
    const stepUp = codeOf((await sink().next(alice.email!, { after, subject: /confirm it is you/ })).text);
    const back = await answer(a, stepUp);
    expect(back.status).toBe(303);
    expect(back.headers.location).toBe('/mfa/devices');

    // Now adding works; the pairing goes to the new address, the notice to the existing ones.
    after = sink().count();
    const added = await submit(a, '/mfa/devices/add?type=email', '/mfa/devices/add', { email: 'new@example.test' });
    expect(added.status).toBe(303);
    const pairing = codeOf((await sink().next('new@example.test', { after, subject: /confirm this email/ })).text);
    const activated = await submit(a, added.headers.location!, `${added.headers.location}`, { otp: pairing });
    expect(activated.headers.location).toBe('/mfa/devices');
    await sink().next(alice.email!, { after, subject: ADDED });
    await sink().next('alice2@example.test', { after, subject: ADDED });
    const addedNotices = mailsTo(sink(), alice.email!, { after, subject: ADDED });
    expect(addedNotices).toHaveLength(1);
    expect(addedNotices[0]!.text).toContain('new@example.test');
    expect(mailsTo(sink(), 'new@example.test', { after, subject: ADDED })).toHaveLength(0);

    // Removing works too, and is announced to the remaining addresses and to the removed one.
    after = sink().count();
    const removed = await submit(a, '/mfa/devices', `/mfa/devices/${d2.id}/remove`);
    expect(removed.headers.location).toBe('/mfa/devices');
    for (const to of [alice.email!, 'new@example.test', 'alice2@example.test']) {
      const notice = await sink().next(to, { after, subject: REMOVED });
      expect(notice.text).toContain('alice2@example.test');
    }
    expect((await t.auth.devices.list('u1')).map((d) => d.label).sort()).toEqual([alice.email, 'new@example.test'].sort());
  });

  it('a user let in by a policy exception (no MFA this session) must answer a code before adding a method', async () => {
    const t = createTestApp({ sink: sink() });
    await pairDevice(t, sink(), 'u3', 'root@example.test');
    const r = agent(t.app);
    expect((await login(r, 'root', 'pw-root')).headers.location).toBe('/');
    const before = sink().count();
    expect((await r.get('/mfa/devices/add')).headers.location).toBe('/mfa/challenge');
    const token = csrfOf((await r.get('/mfa/devices')).text);
    const add = await r.post('/mfa/devices/add').type('form').send({ _mfa_csrf: token, email: 'other@example.test' });
    expect(add.headers.location).toBe('/mfa/challenge');
    expect(sink().count()).toBe(before);
    expect((await t.auth.devices.list('u3')).map((d) => d.label)).toEqual(['root@example.test']);
  });

  it('a sign-on left at the pairing step cannot add a method once the account has one (enrollAddress: any)', async () => {
    const t = createTestApp({ sink: sink(), mfa: { policy: { enrollAddress: 'any' } } });
    // X (holding alice's password) reaches the pairing page before alice has any method.
    const x = agent(t.app);
    expect((await login(x, 'alice', 'pw-alice')).headers.location).toBe('/mfa/enroll');
    // Alice pairs her own address and signs on.
    const y = agent(t.app);
    expect((await login(y, 'alice', 'pw-alice')).headers.location).toBe('/mfa/enroll');
    let after = sink().count();
    expect((await submit(y, '/mfa/enroll', '/mfa/enroll', { email: 'alice@example.test' })).status).toBe(303);
    const own = codeOf((await sink().next('alice@example.test', { after })).text);
    expect((await submit(y, '/mfa/enroll', '/mfa/enroll/verify', { otp: own })).status).toBe(303);
    expect((await t.auth.devices.list('u1')).map((d) => d.status)).toEqual(['ACTIVE']);

    // X's pairing page is gone: the sign-on must now answer alice's method.
    after = sink().count();
    const page = await x.get('/mfa/enroll');
    expect(page.status).toBe(303);
    expect(page.headers.location).toBe('/mfa/challenge');
    // Even a hand-made form with X's own session token cannot pair the thief's address.
    const challenge = await x.get('/mfa/challenge');
    const token = /name="_mfa_csrf" value="([^"]+)"/.exec((challenge.status === 303 ? await x.get('/mfa/challenge') : challenge).text)![1]!;
    await x.post('/mfa/enroll').type('form').send({ _mfa_csrf: token, email: 'thief@evil.test' });
    await x.post('/mfa/enroll/verify').type('form').send({ _mfa_csrf: token, otp: '000000' });
    expect(mailsTo(sink(), 'thief@evil.test', { after })).toEqual([]);

    expect((await x.get('/plain')).status).toBe(401);
    expect((await t.auth.devices.list('u1')).filter((d) => d.label === 'thief@evil.test' && d.status === 'ACTIVE')).toEqual([]);
  });

  it('a code sent to a method that is then removed no longer signs on', async () => {
    const t = createTestApp({ sink: sink() });
    const alice = t.users[0]!;
    const d1 = await pairDevice(t, sink(), 'u1', alice.email!); // the default: alice fears this mailbox is read by someone else
    await pairDevice(t, sink(), 'u1', 'alice2@example.test');
    const a = agent(t.app);
    const own = await startSignOn(a, sink(), alice);
    expect((await answer(a, own.code)).status).toBe(303);

    // X, holding the password, gets a code sent to the compromised mailbox...
    const x = agent(t.app);
    const stolen = await startSignOn(x, sink(), alice);
    // ...alice removes that method (her MFA is recent)...
    expect((await submit(a, '/mfa/devices', `/mfa/devices/${d1.id}/remove`)).headers.location).toBe('/mfa/devices');
    expect((await t.auth.devices.list('u1')).map((d) => d.label)).toEqual(['alice2@example.test']);
    // ...and the code already sent to it must not sign on any more.
    await answer(x, stolen.code);
    expect((await x.get('/plain')).status).toBe(401);
  });
});
