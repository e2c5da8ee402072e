import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agent, codeOf, createTestApp, enrollAndSignOn, login, signOn, submit } from './helpers/app.js';
import { SmtpSink } from './helpers/smtp.js';

let sink: SmtpSink;
beforeAll(async () => {
  sink = await SmtpSink.start();
});
afterAll(async () => {
  await sink.close();
});

describe('sign-on', () => {
  it('pairs the profile email during the first sign-on, then answers a code on the next', async () => {
    const t = createTestApp({ sink });
    const alice = t.users[0]!;
    const a = agent(t.app);
    expect((await a.get('/account')).headers.location).toBe('/login');

    const done = await enrollAndSignOn(a, sink, alice);
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe('/account');
    expect((await a.get('/account')).text).toBe('account of alice');

    const devices = await t.auth.devices.list('u1');
    expect(devices).toHaveLength(1);
    expect(devices[0]).toMatchObject({ label: 'alice@example.test', details: { email: 'alice@example.test' }, status: 'ACTIVE', default: true });

    const b = agent(t.app);
    const finished = await signOn(b, sink, alice);
    expect(finished.headers.location).toBe('/');
    expect((await b.get('/account')).text).toBe('account of alice');
    expect(t.events.map((e) => e.type)).toContain('signon.completed');
  });

  it('keeps the user signed out while the code is pending', async () => {
    const t = createTestApp({ sink });
    const alice = t.users[0]!;
    await enrollAndSignOn(agent(t.app), sink, alice);
    const a = agent(t.app);
    const after = sink.count();
    const res = await login(a, 'alice', 'pw-alice');
    expect(res.headers.location).toBe('/mfa/challenge');
    expect((await a.get('/plain')).status).toBe(401);
    expect((await a.get('/')).text).toBe('home, signed out');
    expect((await a.get('/account')).headers.location).toBe('/mfa/challenge');
    expect((await a.get('/api/me').set('Accept', 'application/json')).status).toBe(401);
    const mail = await sink.next('alice@example.test', { after });
    expect(codeOf(mail.text)).toMatch(/^\d{6}$/);
  });

  it('lets the admin skip MFA by policy', async () => {
    const t = createTestApp({ sink });
    const a = agent(t.app);
    const res = await login(a, 'root', 'pw-root');
    expect(res.headers.location).toBe('/');
    expect((await a.get('/account')).text).toBe('account of root');
    void submit;
  });
});
