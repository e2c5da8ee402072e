/**
 * Every form under /mfa carries a CSRF token; a POST without the session's
 * own token is refused with 403 and changes nothing.
 */
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import type { ChallengeRecord } from '../../src/stores/types.js';
import { agent, codeOf, createTestApp, csrfOf, login, submit, type Agent } from '../helpers/app.js';
import { answer, InspectableSessionStore, pairDevice, startSignOn, useSink } from './support.js';

const sink = useSink();

describe('CSRF on every POST under /mfa', () => {
  it('refuses a missing, foreign, empty or altered token with 403 and changes nothing', async () => {
    // Over a hundred refused POSTs from one address: the per-address limit (test/security/rate-limit.test.ts) is not what is tested here.
    const t = createTestApp({ sink: sink(), mfa: { rateLimit: { limit: 1_000 } } });
    const alice = t.users[0]!;

    // S: alice signed on, with three devices: D1 (default), D3 (active), D2 (waiting for its code).
    const d1 = await pairDevice(t, sink(), 'u1', alice.email!);
    const d3 = await pairDevice(t, sink(), 'u1', 'alice3@example.test');
    const s = agent(t.app);
    const signed = await startSignOn(s, sink(), alice);
    expect((await answer(s, signed.code)).status).toBe(303);
    let after = sink().count();
    const { device: d2 } = await t.auth.devices.create('u1', { email: 'alice2@example.test' });
    const pairingCode = codeOf((await sink().next('alice2@example.test', { after })).text);

    // P: alice pending at the challenge.
    const p = agent(t.app);
    const pending = await startSignOn(p, sink(), alice);

    // E: bob pairing his profile address during sign-on.
    const e = agent(t.app);
    await login(e, 'bob', 'pw-bob');
    after = sink().count();
    expect((await submit(e, '/mfa/enroll', '/mfa/enroll')).status).toBe(303);
    const enrollCode = codeOf((await sink().next('bob@example.test', { after })).text);

    const tokenOf = async (a: Agent, page: string) => csrfOf((await a.get(page)).text);
    const tokens = { s: await tokenOf(s, '/mfa/devices'), p: await tokenOf(p, '/mfa/challenge'), e: await tokenOf(e, '/mfa/enroll') };
    expect(new Set(Object.values(tokens)).size).toBe(3);

    const targets: Array<{ a: Agent; own: string; foreign: string; path: string; body: Record<string, string> }> = [
      ...[
        ['/mfa/challenge', { otp: pending.code }],
        ['/mfa/challenge/send', { deviceId: d1.id }],
        ['/mfa/challenge/resend', {}],
        ['/mfa/challenge/cancel', {}],
      ].map(([path, body]) => ({ a: p, own: tokens.p, foreign: tokens.e, path: path as string, body: body as Record<string, string> })),
      ...[
        ['/mfa/enroll', {}],
        ['/mfa/enroll/verify', { otp: enrollCode }],
        ['/mfa/enroll/resend', {}],
        ['/mfa/enroll/restart', {}],
        ['/mfa/challenge/cancel', {}],
      ].map(([path, body]) => ({ a: e, own: tokens.e, foreign: tokens.p, path: path as string, body: body as Record<string, string> })),
      ...[
        ['/mfa/devices/add', { email: 'thief@evil.test' }],
        ['/mfa/devices/add', { type: 'email', email: 'thief@evil.test' }],
        [`/mfa/devices/${d2.id}/activate`, { otp: pairingCode }],
        [`/mfa/devices/${d2.id}/resend`, {}],
        [`/mfa/devices/${d3.id}/rename`, { nickname: 'pwned' }],
        [`/mfa/devices/${d3.id}/default`, {}],
        [`/mfa/devices/${d3.id}/remove`, {}],
        [`/mfa/devices/${d1.id}/remove`, {}],
        ['/mfa/challenge/send', {}],
        ['/mfa/challenge/cancel', {}],
      ].map(([path, body]) => ({ a: s, own: tokens.s, foreign: tokens.e, path: path as string, body: body as Record<string, string> })),
    ];

    const mailsBefore = sink().count();
    const eventsBefore = t.events.length;
    for (const { a, own, foreign, path, body } of targets) {
      const altered = own.slice(0, -1) + (own.endsWith('A') ? 'B' : 'A');
      const attempts = [
        a.post(path).type('form').send(body),
        a.post(path).type('form').send({ ...body, _mfa_csrf: foreign }),
        a.post(path).type('form').send({ ...body, _mfa_csrf: '' }),
        a.post(path).type('form').send({ ...body, _mfa_csrf: altered }),
        a.post(path).set('X-CSRF-Token', foreign).type('form').send(body),
        a.post(path).type('json').send({ ...body, _mfa_csrf: foreign }),
        a.post(path).type('form').send(`${new URLSearchParams(body)}&_mfa_csrf=${encodeURIComponent(foreign)}&_mfa_csrf=${encodeURIComponent(own)}`),
      ];
      for (const res of await Promise.all(attempts)) {
        expect(res.status, path).toBe(403);
        expect(res.text, path).toContain('This form has expired');
      }
    }

    // Nothing happened: no mail, no event, no sign-on, no device change, no attempt spent.
    expect(sink().count()).toBe(mailsBefore);
    expect(t.events.slice(eventsBefore)).toEqual([]);
    expect((await p.get('/plain')).status).toBe(401);
    expect((await e.get('/plain')).status).toBe(401);
    expect((await p.get('/mfa/challenge')).status).toBe(200);
    const list = await t.auth.devices.list('u1');
    expect(list.map((d) => [d.label, d.status, d.default, d.nickname]).sort()).toEqual([
      ['alice2@example.test', 'ACTIVATION_REQUIRED', false, null],
      ['alice3@example.test', 'ACTIVE', false, null],
      ['alice@example.test', 'ACTIVE', true, null],
    ]);
    expect((await t.auth.devices.list('u2')).map((d) => d.status)).toEqual(['ACTIVATION_REQUIRED']);
    const users = (t.auth.store as any).users as Map<string, { challenges: Map<string, { record: ChallengeRecord }> }>;
    for (const userId of ['u1', 'u2']) {
      for (const { record } of users.get(userId)!.challenges.values()) expect(record.attempts).toBe(0);
    }

    // Controls: with the session's own token every one of these works.
    expect((await p.post('/mfa/challenge').type('form').send({ _mfa_csrf: tokens.p, otp: pending.code })).headers.location).toBe('/');
    expect((await e.post('/mfa/enroll/verify').type('form').send({ _mfa_csrf: tokens.e, otp: enrollCode })).headers.location).toBe('/');
    const activate = await s.post(`/mfa/devices/${d2.id}/activate`).type('form').send({ _mfa_csrf: tokens.s, otp: pairingCode });
    expect(activate.headers.location).toBe('/mfa/devices');
    expect((await t.auth.devices.get('u1', d2.id)).status).toBe('ACTIVE');
  });

  it('refuses a POST from a session that never had a token', async () => {
    const t = createTestApp({ sink: sink() });
    const fresh = agent(t.app);
    for (const path of ['/mfa/challenge', '/mfa/challenge/send', '/mfa/enroll', '/mfa/devices/add']) {
      const res = await fresh.post(path).type('form').send({ _mfa_csrf: 'undefined' });
      expect(res.status, path).toBe(403);
    }
  });
});

describe('a request without a session does not get one', () => {
  // saveUninitialized: false keeps bots from filling the session store; making a CSRF token for a page without a form would undo it.
  it('anonymous POSTs refused for their missing token, and anonymous GETs, store no session and set no cookie', async () => {
    const sessionStore = new InspectableSessionStore();
    const t = createTestApp({ sink: sink(), sessionStore, formParser: false });
    const responses = [];
    for (let i = 0; i < 5; i += 1) {
      for (const path of ['/mfa/challenge', '/mfa/enroll', '/mfa/devices/add', '/mfa/challenge/cancel']) {
        const res = await request(t.app).post(path).type('form').send({ otp: '123456', email: 'eve@example.test' });
        expect(res.status, path).toBe(403);
        responses.push(res);
      }
      responses.push(await request(t.app).post('/mfa/challenge').type('form').send(`otp=${'1'.repeat(20_000)}`));
      responses.push(await request(t.app).get('/mfa/challenge'));
      responses.push(await request(t.app).get('/mfa/enroll'));
    }
    for (const res of responses) expect(res.headers['set-cookie'], `${res.status} ${res.text.slice(0, 100)}`).toBeUndefined();
    expect(sessionStore.dump()).toEqual({});
  });

  it('a page with a form still gets its token (and so its session)', async () => {
    const sessionStore = new InspectableSessionStore();
    const t = createTestApp({ sink: sink(), sessionStore });
    const e = agent(t.app);
    await login(e, 'bob', 'pw-bob');
    const page = await e.get('/mfa/enroll');
    expect(Object.values(sessionStore.dump()).map((s) => s.mfa?.csrf)).toEqual([csrfOf(page.text)]);
  });

  it("the pending sign-on's token dies with it: the signed-on session holds none until a form of ours is shown, then a new one", async () => {
    const sessionStore = new InspectableSessionStore();
    const t = createTestApp({ sink: sink(), sessionStore });
    const alice = t.users[0]!;
    await pairDevice(t, sink(), 'u1', alice.email!);
    const a = agent(t.app);
    const signed = await startSignOn(a, sink(), alice);
    const pendingToken = csrfOf((await a.get('/mfa/challenge')).text);
    expect((await a.post('/mfa/challenge').type('form').send({ _mfa_csrf: pendingToken, otp: signed.code })).status).toBe(303);

    // Signed on: the app's own requests carry no token of ours in the session.
    expect(Object.values(sessionStore.dump()).map((s) => s.mfa?.csrf)).toEqual([undefined]);
    // The pending sign-on's token answers no form of the signed-on session.
    expect((await a.post('/mfa/devices/add').type('form').send({ _mfa_csrf: pendingToken, type: 'email', email: 'new@example.test' })).status).toBe(403);
    const fresh = csrfOf((await a.get('/mfa/devices')).text);
    expect(fresh).not.toBe(pendingToken);
    expect(Object.values(sessionStore.dump()).map((s) => s.mfa?.csrf)).toEqual([fresh]);
  });
});
