import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createExampleApp } from '../../example-app/app.js';
import { codeOf, csrfOf } from '../helpers/app.js';
import { SmtpSink } from '../helpers/smtp.js';
import { quietLogger } from './support.js';

let sink: SmtpSink;
beforeAll(async () => {
  sink = await SmtpSink.start();
});
afterAll(async () => {
  await sink.close();
});
afterEach(() => {
  vi.unstubAllEnvs();
});

type Agent = ReturnType<typeof request.agent>;

/** The token of the app's own forms (not the library's _mfa_csrf). */
function appCsrfOf(html: string): string {
  const match = /name="csrf_token" value="([^"]+)"/.exec(html);
  if (!match) throw new Error(`no csrf_token field in:\n${html.slice(0, 500)}`);
  return match[1]!;
}

/** Signs on through the sign-on page's form, with its token. */
async function logIn(a: Agent, username: string, password: string) {
  const form = await a.get('/login');
  return a.post('/login').type('form').send({ csrf_token: appCsrfOf(form.text), username, password });
}

function exampleApp() {
  const logger = quietLogger();
  const example = createExampleApp({ mfa: { email: { transport: sink.transport() }, logger } });
  return { ...example, logger };
}

describe('the example app', () => {
  it('signs alice on: she pairs her profile email at first sign-on, then comes back to the page she asked for', async () => {
    const { app, auth } = exampleApp();
    const a = request.agent(app);
    const first = await a.get('/account');
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe('/login');
    expect((await a.get('/login')).text).toContain('action="/login"');

    const res = await logIn(a, 'alice', 'alice-password');
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/mfa/enroll');

    const enroll = await a.get('/mfa/enroll');
    expect(enroll.status).toBe(200);
    expect(enroll.text).toContain('alice@example.test');
    const after = sink.count();
    const sent = await a.post('/mfa/enroll').type('form').send({ _mfa_csrf: csrfOf(enroll.text) });
    expect(sent.status).toBe(303);
    const mail = await sink.next('alice@example.test', { after });

    const verifyPage = await a.get('/mfa/enroll');
    const done = await a.post('/mfa/enroll/verify').type('form').send({ _mfa_csrf: csrfOf(verifyPage.text), otp: codeOf(mail.text) });
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe('/account');

    const account = await a.get('/account');
    expect(account.status).toBe(200);
    expect(account.text).toContain('Signed on as alice (alice@example.test).');
    expect((await a.get('/')).text).toContain('Hello, alice');
    expect((await a.get('/transfer')).status).toBe(200);
    expect(await auth.devices.list('1')).toMatchObject([{ label: 'alice@example.test', details: { email: 'alice@example.test' }, status: 'ACTIVE' }]);

    // The next sign-on, in another browser, answers a code.
    const b = request.agent(app);
    const afterLogin = sink.count();
    expect((await logIn(b, 'alice', 'alice-password')).headers.location).toBe('/mfa/challenge');
    const code = codeOf((await sink.next('alice@example.test', { after: afterLogin })).text);
    const page = await b.get('/mfa/challenge');
    const signedOn = await b.post('/mfa/challenge').type('form').send({ _mfa_csrf: csrfOf(page.text), otp: code });
    expect(signedOn.headers.location).toBe('/');
    expect((await b.get('/')).text).toContain('Hello, alice');
  });

  it('signs the admin on without a code (the policy skips MFA for him)', async () => {
    const { app } = exampleApp();
    const a = request.agent(app);
    const after = sink.count();
    const res = await logIn(a, 'admin', 'admin-password');
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/');
    expect((await a.get('/')).text).toContain('Hello, admin');
    expect((await a.get('/account')).text).toContain('Signed on as admin');
    expect(sink.count()).toBe(after);
  });

  it('shows the message of a wrong password once on the sign-on page', async () => {
    const { app } = exampleApp();
    const a = request.agent(app);
    const res = await logIn(a, 'alice', 'nope');
    expect(res.headers.location).toBe('/login');
    const page = await a.get('/login');
    expect(page.text).toContain('Wrong username or password.');
    // The message is shown once.
    expect((await a.get('/login')).text).not.toContain('Wrong username or password.');
  });

  it('logs its development warnings through the given logger, not the console', async () => {
    vi.stubEnv('SESSION_SECRET', '');
    const { logger } = exampleApp();
    expect(logger.lines.some((l) => l.level === 'warn' && /no secret given/.test(l.message))).toBe(true);
    expect(logger.lines.some((l) => l.level === 'warn' && /no SESSION_SECRET/.test(l.message))).toBe(true);
    expect(logger.lines.some((l) => /no email\.transport/.test(l.message))).toBe(false);
  });

  it('refuses to start in production without SESSION_SECRET, and takes the one given', async () => {
    vi.stubEnv('NODE_ENV', 'production');
    vi.stubEnv('SESSION_SECRET', '');
    expect(() => exampleApp()).toThrow(/SESSION_SECRET is not set/);
    vi.stubEnv('NODE_ENV', 'development');
    vi.stubEnv('SESSION_SECRET', 'a-session-secret-of-the-operator-s-own');
    expect(exampleApp().logger.lines.some((l) => /SESSION_SECRET/.test(l.message))).toBe(false);
  });
});

describe("the example app's own forms carry a CSRF token of its own", () => {
  it('refuses a sign-on without the token, or with a wrong one or the library\'s _mfa_csrf field, with 403', async () => {
    const { app } = exampleApp();
    const a = request.agent(app);
    const token = appCsrfOf((await a.get('/login')).text);
    const attempts = [
      { username: 'admin', password: 'admin-password' },
      { username: 'admin', password: 'admin-password', csrf_token: '' },
      { username: 'admin', password: 'admin-password', csrf_token: `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}` },
      { username: 'admin', password: 'admin-password', _mfa_csrf: token },
    ];
    for (const body of attempts) {
      const res = await a.post('/login').type('form').send(body);
      expect(res.status, JSON.stringify(body)).toBe(403);
      expect(res.text).toContain('This form has expired.');
    }
    // A browser that never got the form has no token at all.
    expect((await request(app).post('/login').type('form').send({ username: 'admin', password: 'admin-password', csrf_token: token })).status).toBe(403);
    expect((await a.get('/')).text).not.toContain('Hello, admin');

    const res = await a.post('/login').type('form').send({ csrf_token: token, username: 'admin', password: 'admin-password' });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/');
  });

  it('refuses a sign-out without the token; with the home page\'s token it signs out', async () => {
    const { app } = exampleApp();
    const a = request.agent(app);
    expect((await logIn(a, 'admin', 'admin-password')).headers.location).toBe('/');
    const home = await a.get('/');
    expect(home.text).toContain('Hello, admin');
    expect((await a.post('/logout').type('form').send({})).status).toBe(403);
    expect((await a.get('/')).text).toContain('Hello, admin');
    const out = await a.post('/logout').type('form').send({ csrf_token: appCsrfOf(home.text) });
    expect(out.status).toBe(302);
    expect((await a.get('/')).text).toContain('express-mfa example');
  });

  it("the library's own forms under /mfa need only their _mfa_csrf", async () => {
    const { app } = exampleApp();
    const a = request.agent(app);
    expect((await logIn(a, 'alice', 'alice-password')).headers.location).toBe('/mfa/enroll');
    const enroll = await a.get('/mfa/enroll');
    expect(enroll.text).not.toContain('csrf_token');
    const after = sink.count();
    expect((await a.post('/mfa/enroll').type('form').send({ _mfa_csrf: csrfOf(enroll.text) })).status).toBe(303);
    await sink.next('alice@example.test', { after });
  });
});
