import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { agent, codeOf, createTestApp, csrfOf, enrollAndSignOn, submit, type Agent, type TestApp } from '../helpers/app.js';
import { SmtpSink } from '../helpers/smtp.js';
import { alertOf, deviceIdsOf, fakeClock, MINUTE, noticeOf, sessionCookie } from './support.js';

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

async function aliceSignedOn(): Promise<{ t: TestApp; a: Agent; sid: string }> {
  const t = createTestApp({ sink });
  const a = agent(t.app);
  const done = await enrollAndSignOn(a, sink, t.users[0]!);
  expect(done.status).toBe(303);
  const sid = sessionCookie(done);
  expect(sid).toBeDefined();
  return { t, a, sid: sid! };
}

/** On the step-up page: sends the code to the default device and returns the mailed code. */
async function sendStepUpCode(a: Agent): Promise<string> {
  const page = await a.get('/mfa/challenge');
  expect(page.status).toBe(200);
  const after = sink.count();
  const sent = await a.post('/mfa/challenge/send').type('form').send({ _mfa_csrf: csrfOf(page.text), deviceId: deviceIdsOf(page.text)[0]! });
  expect(sent.status).toBe(303);
  expect(sent.headers.location).toBe('/mfa/challenge');
  const mail = await sink.next(ALICE, { after });
  expect(mail.subject).toMatch(/confirm it is you/i);
  return codeOf(mail.text);
}

describe('step-up with auth.required({ maxAge })', () => {
  it('lets a fresh sign-on through', async () => {
    const { a } = await aliceSignedOn();
    const res = await a.get('/payees');
    expect(res.status).toBe(200);
    expect(res.text).toBe('payees page');
  });

  it('asks for a fresh code once the last MFA is older than maxAge, then comes back to the route', async () => {
    const { a } = await aliceSignedOn();
    const clock = fakeClock();
    clock.advance(4 * MINUTE);
    expect((await a.get('/payees')).status).toBe(200);
    clock.advance(2 * MINUTE);

    const stale = await a.get('/payees');
    expect(stale.status).toBe(303);
    expect(stale.headers.location).toBe('/mfa/challenge');
    // Routes without maxAge still let the user in.
    expect((await a.get('/account')).text).toBe('account of alice');

    const page = await a.get('/mfa/challenge');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<h1>Confirm it is you</h1>');
    expect(page.text).toMatch(/<form method="post" action="\/mfa\/challenge\/send"[^>]*>[\s\S]*?Send code<\/button>/);
    expect(page.text).not.toContain('name="otp"');

    const code = await sendStepUpCode(a);
    const withField = await a.get('/mfa/challenge');
    expect(withField.text).toContain('name="otp"');
    expect(noticeOf(withField.text)).toMatch(/We sent a code to a/);

    const done = await submit(a, '/mfa/challenge', '/mfa/challenge', { otp: code });
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe('/payees');
    const res = await a.get('/payees');
    expect(res.status).toBe(200);
    expect(res.text).toBe('payees page');
  });

  it('shows a wrong step-up code as an error and stays on the page', async () => {
    const { a } = await aliceSignedOn();
    const clock = fakeClock();
    clock.advance(6 * MINUTE);
    await a.get('/payees');
    const code = await sendStepUpCode(a);
    const wrong = code === '999999' ? '888888' : '999999';
    const res = await submit(a, '/mfa/challenge', '/mfa/challenge', { otp: wrong });
    expect(res.status).toBe(400);
    expect(alertOf(res.text)).toMatch(/2 tries left/);
    expect(res.text).toContain('aria-invalid="true"');
    const done = await submit(a, '/mfa/challenge', '/mfa/challenge', { otp: code });
    expect(done.headers.location).toBe('/payees');
  });

  it('changes the session id when the step-up completes, and the old id is no longer signed on', async () => {
    const { t, a, sid } = await aliceSignedOn();
    const clock = fakeClock();
    clock.advance(6 * MINUTE);
    await a.get('/payees');
    const code = await sendStepUpCode(a);
    const done = await submit(a, '/mfa/challenge', '/mfa/challenge', { otp: code });
    expect(done.headers.location).toBe('/payees');
    const next = sessionCookie(done);
    expect(next).toBeDefined();
    expect(next).not.toBe(sid);

    const old = await agent(t.app).get('/plain').set('Cookie', `connect.sid=${sid}`);
    expect(old.status).toBe(401);
    const fresh = await agent(t.app).get('/payees').set('Cookie', `connect.sid=${next!}`);
    expect(fresh.status).toBe(200);
  });

  it('answers a JSON request to a stale route with 401 MFA_REQUIRED', async () => {
    const { a } = await aliceSignedOn();
    const clock = fakeClock();
    clock.advance(6 * MINUTE);
    const res = await a.get('/payees').set('Accept', 'application/json');
    expect(res.status).toBe(401);
    expect(res.type).toBe('application/json');
    expect(res.body).toMatchObject({ code: 'MFA_REQUIRED' });
    expect(res.body.details).toEqual({ challenge: '/mfa/challenge' });
    // A route without maxAge still answers.
    const me = await a.get('/api/me').set('Accept', 'application/json');
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ id: 'u1' });
  });

  it('keeps the user signed on when the step-up is cancelled', async () => {
    const { a } = await aliceSignedOn();
    const clock = fakeClock();
    clock.advance(6 * MINUTE);
    await a.get('/payees');
    const code = await sendStepUpCode(a);

    const cancelled = await submit(a, '/mfa/challenge', '/mfa/challenge/cancel');
    expect(cancelled.status).toBe(303);
    expect(cancelled.headers.location).toBe('/');
    expect((await a.get('/')).text).toBe('home of alice');
    expect((await a.get('/account')).text).toBe('account of alice');
    // Still stale, and the cancelled code does not count.
    expect((await a.get('/payees')).headers.location).toBe('/mfa/challenge');
    const page = await a.get('/mfa/challenge');
    expect(page.text).not.toContain('name="otp"');
    const replay = await a.post('/mfa/challenge').type('form').send({ _mfa_csrf: csrfOf(page.text), otp: code });
    expect(replay.status).not.toBe(303);
    expect((await a.get('/payees')).status).toBe(303);
  });

  it('sends a signed-out visitor to sign on and comes back to the route after it', async () => {
    const t = createTestApp({ sink });
    const a = agent(t.app);
    const res = await a.get('/payees');
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/login');
    const done = await enrollAndSignOn(a, sink, t.users[0]!);
    expect(done.headers.location).toBe('/payees');
    expect((await a.get('/payees')).status).toBe(200);
  });
});
