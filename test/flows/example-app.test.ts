import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

    const res = await a.post('/login').type('form').send({ username: 'alice', password: 'alice-password' });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/mfa/enroll');

    const enroll = await a.get('/mfa/enroll');
    expect(enroll.status).toBe(200);
    expect(enroll.text).toContain('alice@example.test');
    const after = sink.count();
    const sent = await a.post('/mfa/enroll').type('form').send({ _csrf: csrfOf(enroll.text) });
    expect(sent.status).toBe(303);
    const mail = await sink.next('alice@example.test', { after });

    const verifyPage = await a.get('/mfa/enroll');
    const done = await a.post('/mfa/enroll/verify').type('form').send({ _csrf: csrfOf(verifyPage.text), otp: codeOf(mail.text) });
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe('/account');

    const account = await a.get('/account');
    expect(account.status).toBe(200);
    expect(account.text).toContain('Signed on as alice (alice@example.test).');
    expect((await a.get('/')).text).toContain('Hello, alice');
    expect((await a.get('/transfer')).status).toBe(200);
    expect(await auth.devices.list('1')).toMatchObject([{ email: 'alice@example.test', status: 'ACTIVE' }]);

    // The next sign-on, in another browser, answers a code.
    const b = request.agent(app);
    const afterLogin = sink.count();
    expect((await b.post('/login').type('form').send({ username: 'alice', password: 'alice-password' })).headers.location).toBe('/mfa/challenge');
    const code = codeOf((await sink.next('alice@example.test', { after: afterLogin })).text);
    const page = await b.get('/mfa/challenge');
    const signedOn = await b.post('/mfa/challenge').type('form').send({ _csrf: csrfOf(page.text), otp: code });
    expect(signedOn.headers.location).toBe('/');
    expect((await b.get('/')).text).toContain('Hello, alice');
  });

  it('signs the admin on without a code (the policy skips MFA for him)', async () => {
    const { app } = exampleApp();
    const a = request.agent(app);
    const after = sink.count();
    const res = await a.post('/login').type('form').send({ username: 'admin', password: 'admin-password' });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/');
    expect((await a.get('/')).text).toContain('Hello, admin');
    expect((await a.get('/account')).text).toContain('Signed on as admin');
    expect(sink.count()).toBe(after);
  });

  it('shows the message of a wrong password once on the sign-on page', async () => {
    const { app } = exampleApp();
    const a = request.agent(app);
    const res = await a.post('/login').type('form').send({ username: 'alice', password: 'nope' });
    expect(res.headers.location).toBe('/login');
    const page = await a.get('/login');
    expect(page.text).toContain('Wrong username or password.');
    // The message is shown once.
    expect((await a.get('/login')).text).not.toContain('Wrong username or password.');
  });

  it('logs its development warnings through the given logger, not the console', async () => {
    const { logger } = exampleApp();
    expect(logger.lines.some((l) => l.level === 'warn' && /no secret given/.test(l.message))).toBe(true);
    expect(logger.lines.some((l) => /no email\.transport/.test(l.message))).toBe(false);
  });
});
