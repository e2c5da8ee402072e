/**
 * Fail closed: when the store or the mail transport fails, no sign-on
 * completes and nothing is lost; the user sees a clear message, the app's
 * logs get the cause.
 */
import { describe, expect, it } from 'vitest';
import type { MailMessage, MailTransport } from '../../src/index.js';
import { MemoryMfaStore } from '../../src/stores/memory.js';
import type { MfaStore } from '../../src/stores/types.js';
import { agent, codeOf, createTestApp, login, submit, type TestApp } from '../helpers/app.js';
import type { SmtpSink } from '../helpers/smtp.js';
import { answer, InspectableSessionStore, pairDevice, startSignOn, useSink } from './support.js';

const sink = useSink();

/** The sink's transport behind a switch: while `down`, sendMail rejects. */
function switchableTransport(s: SmtpSink) {
  const real = s.transport();
  const state = { down: false, failures: 0 };
  const transport: MailTransport = {
    async sendMail(message: MailMessage) {
      if (state.down) {
        state.failures++;
        throw new Error('smtp down');
      }
      return real.sendMail(message);
    },
  };
  return { state, transport };
}

/** A MemoryMfaStore behind a switch: while `down`, every method rejects. */
function switchableStore() {
  const inner = new MemoryMfaStore();
  inner.close();
  const state = { down: false, failures: 0 };
  const store = new Proxy(inner, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (state.down) {
          state.failures++;
          return Promise.reject(new Error('store down'));
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as MfaStore;
  return { state, store };
}

function causeLogged(t: TestApp, text: string): boolean {
  return t.logs.some((l) => l.level === 'error' && (l.error instanceof Error ? l.error.message : String(l.error)).includes(text));
}

function completions(t: TestApp): number {
  return t.events.filter((e) => e.type === 'signon.completed').length;
}

describe('the mail transport fails', () => {
  it('at sign-on: a clear message, a 503 when sending again fails, no sign-on; after recovery the code is sent and signs on', async () => {
    const { state, transport } = switchableTransport(sink());
    const t = createTestApp({ sink: sink(), mfa: { email: { transport, from: 'Acme <no-reply@acme.test>' } } });
    const alice = t.users[0]!;
    await pairDevice(t, sink(), 'u1', alice.email!);
    const a = agent(t.app);

    state.down = true;
    const res = await login(a, 'alice', 'pw-alice');
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/mfa/challenge');
    const page = await a.get('/mfa/challenge');
    expect(page.text).toContain('The code could not be sent');
    expect((await a.get('/plain')).status).toBe(401);
    expect(causeLogged(t, 'smtp down')).toBe(true);

    const again = await submit(a, '/mfa/challenge', '/mfa/challenge/send');
    expect(again.status).toBe(503);
    expect(again.text).toContain('The code could not be sent');
    expect(again.headers['content-security-policy']).toBeDefined();
    expect((await a.get('/plain')).status).toBe(401);
    expect(state.failures).toBe(2);
    expect(completions(t)).toBe(0);

    state.down = false;
    const after = sink().count();
    expect((await submit(a, '/mfa/challenge', '/mfa/challenge/send')).status).toBe(303);
    const code = codeOf((await sink().next(alice.email!, { after })).text);
    expect((await answer(a, code)).headers.location).toBe('/');
    expect((await a.get('/plain')).status).toBe(200);
  });

  it('on resend: 503 and no sign-on; the resend works at once after recovery', async () => {
    const { state, transport } = switchableTransport(sink());
    const t = createTestApp({ sink: sink(), mfa: { email: { transport, from: 'Acme <no-reply@acme.test>' }, methods: { email: { resendCooldown: '30s' } } } });
    const alice = t.users[0]!;
    await pairDevice(t, sink(), 'u1', alice.email!);
    const a = agent(t.app);
    await startSignOn(a, sink(), alice);
    // Expire the cooldown without waiting: move the last send back in the store.
    const users = (t.auth.store as any).users as Map<string, { challenges: Map<string, { record: { sentAt: number } }> }>;
    for (const { record } of users.get('u1')!.challenges.values()) record.sentAt -= 60_000;

    state.down = true;
    const failed = await submit(a, '/mfa/challenge', '/mfa/challenge/resend');
    expect(failed.status).toBe(503);
    expect(failed.text).toContain('The code could not be sent');
    expect(causeLogged(t, 'smtp down')).toBe(true);
    expect((await a.get('/plain')).status).toBe(401);

    state.down = false;
    const after = sink().count();
    expect((await submit(a, '/mfa/challenge', '/mfa/challenge/resend')).status).toBe(303);
    const fresh = codeOf((await sink().next(alice.email!, { after })).text);
    expect((await answer(a, fresh)).status).toBe(303);
    expect((await a.get('/plain')).status).toBe(200);
  });

  it('on resend: the code already delivered keeps working when the new one could not be sent', async () => {
    const { state, transport } = switchableTransport(sink());
    const t = createTestApp({ sink: sink(), mfa: { email: { transport, from: 'Acme <no-reply@acme.test>' }, methods: { email: { resendCooldown: 0 } } } });
    const alice = t.users[0]!;
    await pairDevice(t, sink(), 'u1', alice.email!);
    const a = agent(t.app);
    const { code } = await startSignOn(a, sink(), alice);
    state.down = true;
    expect((await submit(a, '/mfa/challenge', '/mfa/challenge/resend')).status).toBe(503);
    state.down = false;
    // Nothing is lost: the code in the user's inbox still signs on (and no failure is counted against them).
    const res = await answer(a, code);
    expect(res.text).not.toContain('That code is not right');
    expect(res.headers.location).toBe('/');
    expect((await a.get('/plain')).status).toBe(200);
  });

  it('while pairing during sign-on: 503, no device left behind, no sign-on; works after recovery', async () => {
    const { state, transport } = switchableTransport(sink());
    const t = createTestApp({ sink: sink(), mfa: { email: { transport, from: 'Acme <no-reply@acme.test>' } } });
    const e = agent(t.app);
    expect((await login(e, 'bob', 'pw-bob')).headers.location).toBe('/mfa/enroll');

    state.down = true;
    const failed = await submit(e, '/mfa/enroll', '/mfa/enroll');
    expect(failed.status).toBe(503);
    expect(failed.text).toContain('The code could not be sent');
    expect(await t.auth.devices.list('u2')).toEqual([]);
    expect((await e.get('/plain')).status).toBe(401);
    expect(causeLogged(t, 'smtp down')).toBe(true);

    state.down = false;
    const after = sink().count();
    expect((await submit(e, '/mfa/enroll', '/mfa/enroll')).status).toBe(303);
    const code = codeOf((await sink().next('bob@example.test', { after })).text);
    expect((await submit(e, '/mfa/enroll', '/mfa/enroll/verify', { otp: code })).status).toBe(303);
    expect((await e.get('/plain')).status).toBe(200);
  });

  it('through the programmatic API: DELIVERY_FAILED, and no half-made device or challenge is left', async () => {
    const { state, transport } = switchableTransport(sink());
    const t = createTestApp({ sink: sink(), mfa: { email: { transport, from: 'Acme <no-reply@acme.test>' } } });
    await pairDevice(t, sink(), 'u1', 'alice@example.test');
    state.down = true;
    await expect(t.auth.challenges.start('u1')).rejects.toMatchObject({ code: 'DELIVERY_FAILED', status: 503 });
    await expect(t.auth.devices.create('u1', { email: 'second@example.test' })).rejects.toMatchObject({ code: 'DELIVERY_FAILED' });
    expect((await t.auth.devices.list('u1')).map((d) => d.label)).toEqual(['alice@example.test']);
    const users = (t.auth.store as any).users as Map<string, { challenges: Map<string, unknown> }>;
    expect([...users.get('u1')!.challenges.values()]).toEqual([]);
  });
});

describe('the MFA store fails', () => {
  it('at the password step: 503 page, no sign-on, cause logged', async () => {
    const { state, store } = switchableStore();
    const t = createTestApp({ sink: sink(), mfa: { store } });
    const alice = t.users[0]!;
    await pairDevice(t, sink(), 'u1', alice.email!);
    const a = agent(t.app);

    state.down = true;
    const before = sink().count();
    const res = await login(a, 'alice', 'pw-alice');
    expect(res.status).toBe(503);
    expect(res.text).toContain('unavailable');
    expect(res.headers['retry-after']).toBeDefined();
    expect((await a.get('/plain')).status).toBe(401);
    expect((await a.get('/account')).status).not.toBe(200);
    expect(causeLogged(t, 'store down')).toBe(true);
    expect(sink().count()).toBe(before);
    expect(completions(t)).toBe(0);

    state.down = false;
    const { code } = await startSignOn(a, sink(), alice);
    expect((await answer(a, code)).status).toBe(303);
  });

  it('while the code is answered: 503, no sign-on; the same code works once the store is back', async () => {
    const { state, store } = switchableStore();
    const t = createTestApp({ sink: sink(), mfa: { store } });
    const alice = t.users[0]!;
    await pairDevice(t, sink(), 'u1', alice.email!);
    const a = agent(t.app);
    const { code } = await startSignOn(a, sink(), alice);
    const page = await a.get('/mfa/challenge');
    const token = /name="_mfa_csrf" value="([^"]+)"/.exec(page.text)![1]!;

    state.down = true;
    const res = await a.post('/mfa/challenge').type('form').send({ _mfa_csrf: token, otp: code });
    expect(res.status).toBe(503);
    expect(res.text).toContain('unavailable');
    expect((await a.get('/plain')).status).toBe(401);
    expect(causeLogged(t, 'store down')).toBe(true);
    // The page itself needs no store (the sign-on keeps its device labels); answering it does.
    const shown = await a.get('/mfa/challenge');
    expect(shown.status).toBe(200);
    const resend = await a.post('/mfa/challenge/resend').type('form').send({ _mfa_csrf: token });
    expect(resend.status).toBe(503);
    expect(completions(t)).toBe(0);

    state.down = false;
    const done = await answer(a, code);
    expect(done.headers.location).toBe('/');
    expect((await a.get('/plain')).status).toBe(200);
  });

  it('through the programmatic API: the error is passed on, nothing is completed', async () => {
    const { state, store } = switchableStore();
    const t = createTestApp({ sink: sink(), mfa: { store } });
    await pairDevice(t, sink(), 'u1', 'alice@example.test');
    const after = sink().count();
    const challenge = await t.auth.challenges.start('u1');
    const code = codeOf((await sink().next('alice@example.test', { after })).text);
    state.down = true;
    await expect(t.auth.challenges.verify('u1', challenge.id, code)).rejects.toThrow();
    state.down = false;
    await expect(t.auth.challenges.verify('u1', challenge.id, code)).resolves.toMatchObject({ status: 'COMPLETED' });
  });
});

describe('the session store is disconnected', () => {
  it('nothing is granted while it is down, a clear 503 page is shown, and all is back when it reconnects', async () => {
    const sessionStore = new InspectableSessionStore();
    const t = createTestApp({ sink: sink(), sessionStore, routes: (app, auth) => app.use(auth.errorHandler()) });
    const alice = t.users[0]!;
    await pairDevice(t, sink(), 'u1', alice.email!);
    const a = agent(t.app);
    const { code } = await startSignOn(a, sink(), alice);
    expect((await answer(a, code)).status).toBe(303);
    expect((await a.get('/account')).text).toBe('account of alice');

    // express-session goes on without req.session: nothing may be granted.
    sessionStore.emit('disconnect');
    try {
      for (const path of ['/plain', '/account', '/payees', '/mfa/devices', '/mfa/challenge']) {
        const res = await a.get(path);
        expect(res.status, path).toBe(503);
        expect(res.text, path).toContain('try again');
        expect(res.text, path).not.toMatch(/account of alice|plain ok|payees page|authentication methods/);
        expect(res.headers['content-security-policy'], path).toBeDefined();
      }
      const api = await a.get('/api/me').set('Accept', 'application/json');
      expect(api.status).toBe(503);
      expect(api.body?.id).toBeUndefined();
      const post = await a.post('/mfa/challenge').type('form').send({ otp: code });
      expect(post.status).toBe(503);
      expect(t.logs.some((l) => l.level === 'error' && /session/i.test(String((l.error as Error)?.message)))).toBe(true);
    } finally {
      sessionStore.emit('connect');
    }
    expect((await a.get('/account')).text).toBe('account of alice');
  });
});
