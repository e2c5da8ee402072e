/**
 * OTPs are single use, expire, have limited tries per code and per user
 * (lockout), limited resends (no email bombing), and answer only the
 * challenge (user, purpose) they were sent for.
 */
import { describe, expect, it } from 'vitest';
import { MfaError } from '../../src/index.js';
import { agent, codeOf, createTestApp, csrfOf, login, submit } from '../helpers/app.js';
import {
  answer,
  ForgetfulSessionStore,
  mailsTo,
  pairDevice,
  startSignOn,
  useFakeDate,
  useSink,
  wrongCode,
} from './support.js';

const sink = useSink();
const clock = useFakeDate();

async function rejection(promise: Promise<unknown>): Promise<MfaError & { remainingAttempts?: number }> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(MfaError);
    return error as MfaError;
  }
  throw new Error('expected a rejection');
}

function publicId(userId: string, rawId: string): string {
  return `${Buffer.from(userId, 'utf8').toString('base64url')}.${rawId}`;
}

describe('single use (replay)', () => {
  it('a code that signed on cannot sign on again from a copy of the pending session', async () => {
    // The store fails to destroy the old session on regeneration, so the old cookie still finds it.
    const sessionStore = new ForgetfulSessionStore();
    const t = createTestApp({ sink: sink(), sessionStore });
    const alice = t.users[0]!;
    await pairDevice(t, sink(), 'u1', alice.email!);
    const a = agent(t.app);
    const { code, cookie } = await startSignOn(a, sink(), alice);
    const page = (await a.get('/mfa/challenge')).text;

    expect((await answer(a, code)).headers.location).toBe('/');
    expect((await a.get('/plain')).status).toBe(200);

    // The same code, same (old) session, same form token.
    const b = agent(t.app);
    const replay = await b.post('/mfa/challenge').set('Cookie', cookie).type('form').send({ _mfa_csrf: csrfOf(page), otp: code });
    expect(replay.status).not.toBe(303);
    expect(replay.text).toMatch(/expired or was already used|has ended/);
    expect((await b.get('/plain').set('Cookie', cookie)).status).toBe(401);
    expect(t.events.filter((e) => e.type === 'signon.completed')).toHaveLength(1);
  });

  it('a used code does not sign on a second agent, nor the same agent after logout', async () => {
    const t = createTestApp({ sink: sink() });
    const alice = t.users[0]!;
    await pairDevice(t, sink(), 'u1', alice.email!);
    const a = agent(t.app);
    const first = await startSignOn(a, sink(), alice);
    expect((await answer(a, first.code)).status).toBe(303);

    const b = agent(t.app);
    const second = await startSignOn(b, sink(), alice);
    const replayB = await answer(b, first.code);
    expect(replayB.status).toBe(400);
    expect((await b.get('/plain')).status).toBe(401);

    await a.post('/logout');
    expect((await a.get('/plain')).status).toBe(401);
    const third = await startSignOn(a, sink(), alice);
    const replayA = await answer(a, first.code);
    expect(replayA.status).toBe(400);
    expect((await a.get('/plain')).status).toBe(401);

    // Controls: each session's own fresh code works.
    expect((await answer(b, second.code)).status).toBe(303);
    expect((await answer(a, third.code)).status).toBe(303);
  });

  it('a completed programmatic challenge cannot be verified twice', async () => {
    const t = createTestApp({ sink: sink() });
    await pairDevice(t, sink(), 'u1', 'alice@example.test');
    const after = sink().count();
    const challenge = await t.auth.challenges.start('u1');
    const code = codeOf((await sink().next('alice@example.test', { after })).text);
    await expect(t.auth.challenges.verify('u1', challenge.id, code)).resolves.toMatchObject({ status: 'COMPLETED' });
    expect((await rejection(t.auth.challenges.verify('u1', challenge.id, code))).code).toBe('OTP_EXPIRED');
  });
});

describe('expiry', () => {
  it('a code answered after its lifetime does not sign on', async () => {
    clock.install();
    const t = createTestApp({ sink: sink() });
    const alice = t.users[0]!;
    await pairDevice(t, sink(), 'u1', alice.email!);
    const a = agent(t.app);
    const { code } = await startSignOn(a, sink(), alice);
    clock.advance(10 * 60_000 + 1000);
    const late = await answer(a, code);
    expect(late.status).toBe(400);
    expect(late.text).toContain('expired');
    expect((await a.get('/plain')).status).toBe(401);

    // A new code (the cooldown has long passed) does work.
    const after = sink().count();
    expect((await submit(a, '/mfa/challenge', '/mfa/challenge/resend')).status).toBe(303);
    const fresh = codeOf((await sink().next(alice.email!, { after })).text);
    expect((await answer(a, fresh)).status).toBe(303);
  });

  it('a code answered just before the end of its lifetime signs on', async () => {
    clock.install();
    const t = createTestApp({ sink: sink() });
    const alice = t.users[0]!;
    await pairDevice(t, sink(), 'u1', alice.email!);
    const a = agent(t.app);
    const { code } = await startSignOn(a, sink(), alice);
    clock.advance(10 * 60_000 - 1000);
    expect((await answer(a, code)).status).toBe(303);
  });

  it('a shorter configured lifetime is honoured, also for the programmatic API', async () => {
    clock.install();
    const t = createTestApp({ sink: sink(), mfa: { methods: { email: { otpLifetime: '2m' } } } });
    await pairDevice(t, sink(), 'u1', 'alice@example.test');
    const after = sink().count();
    const challenge = await t.auth.challenges.start('u1');
    const code = codeOf((await sink().next('alice@example.test', { after })).text);
    clock.advance(2 * 60_000 + 1);
    expect((await rejection(t.auth.challenges.verify('u1', challenge.id, code))).code).toBe('OTP_EXPIRED');
  });
});

describe('tries per code', () => {
  it('three wrong tries kill the code: the right code is then refused with TOO_MANY_ATTEMPTS', async () => {
    clock.install();
    const t = createTestApp({ sink: sink() });
    const alice = t.users[0]!;
    await pairDevice(t, sink(), 'u1', alice.email!);
    const a = agent(t.app);
    const { code } = await startSignOn(a, sink(), alice);

    const first = await answer(a, wrongCode(code, 1));
    expect(first.status).toBe(400);
    expect(first.text).toContain('2 tries left');
    const second = await answer(a, wrongCode(code, 2));
    expect(second.text).toContain('1 try left');
    const third = await answer(a, wrongCode(code, 3));
    expect(third.status).toBe(400);
    expect(third.text).toContain('cannot be used any more');

    const right = await answer(a, code);
    expect(right.status).toBe(400);
    expect(right.text).toContain('Too many wrong tries');
    expect((await a.get('/plain')).status).toBe(401);
    expect(t.events.filter((e) => e.type === 'mfa.failed').map((e) => e.reason)).toEqual([
      'INVALID_OTP', 'INVALID_OTP', 'INVALID_OTP', 'TOO_MANY_ATTEMPTS',
    ]);

    // The limit is per code: a new code gets three tries again.
    clock.advance(31_000);
    const after = sink().count();
    await submit(a, '/mfa/challenge', '/mfa/challenge/resend');
    const fresh = codeOf((await sink().next(alice.email!, { after })).text);
    expect((await answer(a, wrongCode(fresh))).text).toContain('2 tries left');
    expect((await answer(a, fresh)).status).toBe(303);
  });

  it('the programmatic API reports remainingAttempts and honours attemptsPerCode', async () => {
    const t = createTestApp({ sink: sink(), mfa: { methods: { email: { attemptsPerCode: 2 } } } });
    await pairDevice(t, sink(), 'u1', 'alice@example.test');
    const after = sink().count();
    const challenge = await t.auth.challenges.start('u1');
    const code = codeOf((await sink().next('alice@example.test', { after })).text);
    const one = await rejection(t.auth.challenges.verify('u1', challenge.id, wrongCode(code)));
    expect(one.code).toBe('INVALID_OTP');
    expect(one.details()).toEqual({ remainingAttempts: 1 });
    const two = await rejection(t.auth.challenges.verify('u1', challenge.id, wrongCode(code, 2)));
    expect(two.details()).toEqual({ remainingAttempts: 0 });
    const three = await rejection(t.auth.challenges.verify('u1', challenge.id, code));
    expect(three.code).toBe('TOO_MANY_ATTEMPTS');
  });
});

describe('lockout', () => {
  it('10 wrong codes across several codes lock the user (423) until the lock ends', async () => {
    clock.install();
    const t = createTestApp({ sink: sink() });
    const [alice, bob] = t.users;
    await pairDevice(t, sink(), 'u1', alice!.email!);
    await pairDevice(t, sink(), 'u2', bob!.email!);
    const a = agent(t.app);

    // Three codes with three wrong tries each: 9 failures, spread over fresh logins.
    let code = '';
    for (let round = 0; round < 3; round++) {
      ({ code } = await startSignOn(a, sink(), alice!));
      for (let i = 1; i <= 3; i++) expect((await answer(a, wrongCode(code, i))).status).toBe(400);
    }
    ({ code } = await startSignOn(a, sink(), alice!));
    // The 10th failure locks.
    const tenth = await answer(a, wrongCode(code));
    expect(tenth.status).toBe(423);
    expect(tenth.text).toMatch(/locked/i);
    expect(t.events.some((e) => e.type === 'user.locked' && e.userId === 'u1')).toBe(true);

    // The right code of the current challenge is refused while locked.
    const right = await answer(a, code);
    expect(right.status).toBe(423);
    expect((await a.get('/plain')).status).toBe(401);
    // No new code is sent while locked: not by resend, not by a new login, not by the API.
    const before = sink().count();
    clock.advance(31_000);
    expect((await submit(a, '/mfa/challenge', '/mfa/challenge/resend')).status).toBe(423);
    const b = agent(t.app);
    expect((await login(b, 'alice', 'pw-alice')).headers.location).toBe('/mfa/challenge');
    expect((await b.get('/mfa/challenge')).text).toMatch(/locked/i);
    expect((await rejection(t.auth.challenges.start('u1'))).code).toBe('LOCKED');
    expect(sink().count()).toBe(before);
    expect((await b.get('/plain')).status).toBe(401);

    // The lock is per user: bob signs on meanwhile.
    const c = agent(t.app);
    const bobs = await startSignOn(c, sink(), bob!);
    expect((await answer(c, bobs.code)).status).toBe(303);

    // Still locked a second before the end, free after it.
    clock.advance(15 * 60_000 - 31_000 - 1000);
    expect((await rejection(t.auth.challenges.start('u1'))).code).toBe('LOCKED');
    clock.advance(2000);
    const d = agent(t.app);
    const fresh = await startSignOn(d, sink(), alice!);
    expect((await answer(d, fresh.code)).status).toBe(303);
    expect((await d.get('/plain')).status).toBe(200);
  });

  it('lockAfter and lockDuration are honoured', async () => {
    clock.install();
    const t = createTestApp({ sink: sink(), mfa: { limits: { lockAfter: 2, lockDuration: '1m' } } });
    await pairDevice(t, sink(), 'u1', 'alice@example.test');
    const after = sink().count();
    const challenge = await t.auth.challenges.start('u1');
    const code = codeOf((await sink().next('alice@example.test', { after })).text);
    expect((await rejection(t.auth.challenges.verify('u1', challenge.id, wrongCode(code)))).code).toBe('INVALID_OTP');
    expect((await rejection(t.auth.challenges.verify('u1', challenge.id, wrongCode(code, 2)))).code).toBe('LOCKED');
    expect((await rejection(t.auth.challenges.verify('u1', challenge.id, code))).code).toBe('LOCKED');
    // The refused attempt while locked spent no try; after the lock, the code's last try remains.
    clock.advance(60_000 + 1);
    await expect(t.auth.challenges.verify('u1', challenge.id, code)).resolves.toMatchObject({ status: 'COMPLETED' });
  });
});

describe('resend', () => {
  it('a resend within the cooldown is refused (429 RESEND_TOO_SOON) and sends nothing', async () => {
    clock.install();
    const t = createTestApp({ sink: sink() });
    const alice = t.users[0]!;
    await pairDevice(t, sink(), 'u1', alice.email!);
    const a = agent(t.app);
    await startSignOn(a, sink(), alice);
    const before = sink().count();
    const soon = await submit(a, '/mfa/challenge', '/mfa/challenge/resend');
    expect(soon.status).toBe(429);
    expect(soon.text).toMatch(/wait \d+ seconds/);
    clock.advance(29_000);
    expect((await submit(a, '/mfa/challenge', '/mfa/challenge/resend')).status).toBe(429);
    expect(sink().count()).toBe(before);
    expect(t.events.filter((e) => e.type === 'otp.sent' && e.reason === 'signon')).toHaveLength(1);
  });

  it('a resend makes the previous code stop working', async () => {
    clock.install();
    const t = createTestApp({ sink: sink() });
    const alice = t.users[0]!;
    await pairDevice(t, sink(), 'u1', alice.email!);
    const a = agent(t.app);
    const { code: old } = await startSignOn(a, sink(), alice);
    let fresh = old;
    while (fresh === old) {
      clock.advance(31_000);
      const after = sink().count();
      expect((await submit(a, '/mfa/challenge', '/mfa/challenge/resend')).status).toBe(303);
      fresh = codeOf((await sink().next(alice.email!, { after })).text);
    }
    const stale = await answer(a, old);
    expect(stale.status).toBe(400);
    expect((await a.get('/plain')).status).toBe(401);
    expect((await answer(a, fresh)).status).toBe(303);
  });

  it('a new code from "send" or a new login makes the earlier challenge of the session stop working', async () => {
    const t = createTestApp({ sink: sink() });
    const alice = t.users[0]!;
    await pairDevice(t, sink(), 'u1', alice.email!);
    const a = agent(t.app);
    const first = await startSignOn(a, sink(), alice);
    let second = first;
    while (second.code === first.code) second = await startSignOn(a, sink(), alice);
    expect((await answer(a, first.code)).status).toBe(400);
    expect((await a.get('/plain')).status).toBe(401);
    expect((await answer(a, second.code)).status).toBe(303);
  });

  it('repeated logins by someone holding the password send no more than the cap of mails', async () => {
    clock.install();
    const t = createTestApp({ sink: sink() });
    const alice = t.users[0]!;
    const start = sink().count();
    await pairDevice(t, sink(), 'u1', alice.email!); // counts as one of the 5 sends
    const early = agent(t.app);
    await startSignOn(early, sink(), alice); // holds a live challenge
    const a = agent(t.app);
    for (let i = 0; i < 8; i++) {
      const res = await login(a, 'alice', 'pw-alice');
      expect(res.headers.location).toBe('/mfa/challenge');
    }
    // Fresh sessions too, and the page's own "send" and "resend" buttons.
    for (let i = 0; i < 3; i++) await login(agent(t.app), 'alice', 'pw-alice');
    const capped = await a.get('/mfa/challenge');
    expect(capped.text).toContain('Too many codes were sent');
    clock.advance(31_000);
    const resend = await submit(early, '/mfa/challenge', '/mfa/challenge/resend');
    expect(resend.status).toBe(429);
    expect(resend.text).toContain('Too many codes were sent');
    expect((await submit(a, '/mfa/challenge', '/mfa/challenge/send')).status).toBe(429);

    // Every login and send above has answered, and sendMail resolves only once the sink has the mail.
    expect(mailsTo(sink(), alice.email!, { after: start })).toHaveLength(5);
    expect(t.events.filter((e) => e.type === 'otp.sent')).toHaveLength(5);

    // The window ends: codes can be sent again.
    clock.advance(15 * 60_000);
    const fresh = await startSignOn(a, sink(), alice);
    expect((await answer(a, fresh.code)).status).toBe(303);
  });

  it('resends and pairing codes share the cap (sendLimit)', async () => {
    clock.install();
    const t = createTestApp({ sink: sink(), mfa: { methods: { email: { resendCooldown: 0 } }, limits: { sendLimit: 3 } } });
    const alice = t.users[0]!;
    const start = sink().count();
    await pairDevice(t, sink(), 'u1', alice.email!);
    const a = agent(t.app);
    await startSignOn(a, sink(), alice);
    expect((await submit(a, '/mfa/challenge', '/mfa/challenge/resend')).status).toBe(303);
    const refused = await submit(a, '/mfa/challenge', '/mfa/challenge/resend');
    expect(refused.status).toBe(429);
    expect(refused.text).toContain('Too many codes were sent');
    await expect(t.auth.devices.create('u1', { email: 'other@example.test' })).rejects.toMatchObject({ code: 'SEND_LIMIT_EXCEEDED' });
    expect(mailsTo(sink(), alice.email!, { after: start })).toHaveLength(3);
    expect(mailsTo(sink(), 'other@example.test', { after: start })).toHaveLength(0);
  });
});

describe('a code answers only its own user and purpose', () => {
  it("bob's code does not sign alice on", async () => {
    const t = createTestApp({ sink: sink() });
    const [alice, bob] = t.users;
    await pairDevice(t, sink(), 'u1', alice!.email!);
    await pairDevice(t, sink(), 'u2', bob!.email!);
    const a = agent(t.app);
    const b = agent(t.app);
    const forAlice = await startSignOn(a, sink(), alice!);
    const forBob = await startSignOn(b, sink(), bob!);
    expect(forBob.code).not.toBe(forAlice.code);
    expect((await answer(a, forBob.code)).status).toBe(400);
    expect((await a.get('/plain')).status).toBe(401);
    expect((await answer(a, forAlice.code)).status).toBe(303);
    expect((await a.get('/account')).text).toBe('account of alice');
  });

  it('a challenge id re-labelled with another user finds nothing (programmatic API)', async () => {
    const t = createTestApp({ sink: sink() });
    await pairDevice(t, sink(), 'u1', 'alice@example.test');
    await pairDevice(t, sink(), 'u2', 'bob@example.test');
    const after = sink().count();
    const challenge = await t.auth.challenges.start('u1');
    const code = codeOf((await sink().next('alice@example.test', { after })).text);
    const raw = challenge.id.slice(challenge.id.indexOf('.') + 1);
    const forged = publicId('u2', raw);
    const error = await rejection(t.auth.challenges.verify('u2', forged, code));
    expect(['OTP_EXPIRED', 'NOT_FOUND', 'INVALID_OTP']).toContain(error.code);
    await expect(t.auth.challenges.verify('u1', challenge.id, code)).resolves.toMatchObject({ userId: 'u1', status: 'COMPLETED' });
  });

  it('a pairing code does not sign on, and a sign-on code does not pair', async () => {
    const t = createTestApp({ sink: sink() });
    const alice = t.users[0]!;
    await pairDevice(t, sink(), 'u1', alice.email!);
    const a = agent(t.app);
    const signOn = await startSignOn(a, sink(), alice);

    const after = sink().count();
    const { device, challenge } = await t.auth.devices.create('u1', { email: 'alice2@example.test' });
    const pairing = codeOf((await sink().next('alice2@example.test', { after })).text);

    // The pairing code in the sign-on form.
    expect((await answer(a, pairing)).status).toBe(400);
    expect((await a.get('/plain')).status).toBe(401);
    // The sign-on code to activate the device.
    expect((await rejection(t.auth.devices.activate('u1', device.id, signOn.code))).code).toBe('INVALID_OTP');
    expect((await t.auth.devices.get('u1', device.id)).status).toBe('ACTIVATION_REQUIRED');

    // The pairing challenge answered as a step-up, with its own right code, fails: its device is not active yet,
    // so it is refused (OTP_EXPIRED, key OTP_EXPIRED.device) before the code is compared, and nothing is spent.
    const asStepUp = await rejection(t.auth.challenges.verify('u1', publicId('u1', challenge!.id), pairing));
    expect(asStepUp).toMatchObject({ code: 'OTP_EXPIRED', key: 'OTP_EXPIRED.device' });
    expect((await a.get('/plain')).status).toBe(401);
    expect(t.events.some((e) => e.type === 'signon.completed')).toBe(false);
    // The HMAC binds the purpose: the sign-on challenge (its id read from the store), of an active device,
    // answered through the API with its own right code, fails.
    const users = (t.auth.store as any).users as Map<string, { challenges: Map<string, { record: { purpose: string } }> }>;
    const signOnId = [...users.get('u1')!.challenges].find(([, e]) => e.record.purpose === 'signon')![0];
    expect((await rejection(t.auth.challenges.verify('u1', publicId('u1', signOnId), signOn.code))).code).toBe('INVALID_OTP');

    // Controls: each code still works for what it was sent for.
    expect((await answer(a, signOn.code)).status).toBe(303);
    await expect(t.auth.devices.activate('u1', device.id, pairing)).resolves.toMatchObject({ status: 'ACTIVE' });
  });
});

describe('sends per recipient (failed before: any account could have pairing codes mailed to any address without end)', () => {
  it('pairing codes to one address are capped across accounts; the owner of an active address still gets sign-on codes', async () => {
    const t = createTestApp({ sink: sink() });
    const victim = 'victim@example.test';
    const after = sink().count();
    // Five strangers' accounts each ask to pair the victim's address: within every account's own quota.
    for (let i = 1; i <= 5; i++) await t.auth.devices.create(`stranger-${i}`, { email: i % 2 ? victim : 'Victim@Example.test' });
    const refused = await rejection(t.auth.devices.create('stranger-6', { email: 'victim+again@example.test' }));
    expect(refused).toMatchObject({ code: 'SEND_LIMIT_EXCEEDED', status: 429 });
    await new Promise((r) => setTimeout(r, 100));
    expect(sink().received.slice(after).filter((m) => m.to.some((to) => /victim/i.test(to)))).toHaveLength(5);
    expect(await t.auth.devices.list('stranger-6')).toEqual([]);

    // alice, whose active address it is, signs on as usual: sign-on codes are not the strangers' to exhaust.
    const alice = t.users[0]!;
    await pairDevice(t, sink(), 'u1', alice.email!);
    for (let i = 1; i <= 5; i++) await t.auth.devices.create(`other-${i}`, { email: alice.email! }).catch(() => undefined);
    const a = agent(t.app);
    const { code } = await startSignOn(a, sink(), alice);
    expect((await answer(a, code)).status).toBe(303);
  });
});

describe('the last active method (one rule for pages, API and the programmatic API)', () => {
  it('auth.devices.remove refuses the last active method unless allowLast; parallel removals leave one', async () => {
    const t = createTestApp({ sink: sink() });
    const only = await pairDevice(t, sink(), 'u1', 'alice@example.test');
    expect(await rejection(t.auth.devices.remove('u1', only.id))).toMatchObject({ code: 'VALIDATION_FAILED' });
    const second = await pairDevice(t, sink(), 'u1', 'alice.work@example.test');
    const results = await Promise.allSettled([t.auth.devices.remove('u1', only.id), t.auth.devices.remove('u1', second.id)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect((await t.auth.devices.list('u1')).filter((d) => d.status === 'ACTIVE')).toHaveLength(1);
    const [left] = await t.auth.devices.list('u1');
    await t.auth.devices.remove('u1', left!.id, {}, { allowLast: true });
    expect(await t.auth.devices.list('u1')).toEqual([]);
  });
});
