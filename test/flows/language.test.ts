import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agent, createTestApp, login, submit } from '../helpers/app.js';
import { codeFrom, SmtpSink } from '../helpers/smtp.js';

const APP_VIEWS = fileURLToPath(new URL('../fixtures/views', import.meta.url));

let sink: SmtpSink;
beforeAll(async () => {
  sink = await SmtpSink.start();
});
afterAll(async () => {
  await sink.close();
});

async function pairAlice(t: ReturnType<typeof createTestApp>) {
  const a = agent(t.app);
  await login(a, 'alice', 'pw-alice');
  const after = sink.count();
  await submit(a, '/mfa/enroll', '/mfa/enroll');
  const mail = await sink.next('alice@example.test', { after });
  await submit(a, '/mfa/enroll', '/mfa/enroll/verify', { otp: codeFrom(mail) });
}

describe('languages, branding and the app\'s own templates', () => {
  it('answers in the language of Accept-Language, pages and emails alike', async () => {
    const t = createTestApp({ sink });
    await pairAlice(t);
    const a = agent(t.app);
    const after = sink.count();
    await a.post('/login').set('Accept-Language', 'fr-CH, en;q=0.5').type('form').send({ username: 'alice', password: 'pw-alice' });
    const mail = await sink.next('alice@example.test', { after });
    expect(mail.subject).toMatch(/^Votre code de connexion : \d{6}$/);
    const page = await a.get('/mfa/challenge').set('Accept-Language', 'fr-CH, en;q=0.5');
    expect(page.text).toContain('<html lang="fr">');
    expect(page.text).toContain('Saisissez votre code');
    const wrong = await a.post('/mfa/challenge').set('Accept-Language', 'fr').type('form').send({ _mfa_csrf: /name="_mfa_csrf" value="([^"]+)"/.exec(page.text)![1], otp: '000000' });
    expect(wrong.text).toContain('Ce code est incorrect. Il vous reste 2 essais.');
    const english = await a.get('/mfa/challenge').set('Accept-Language', 'es');
    expect(english.text).toContain('Enter your code');
  });

  it('lets the locale option choose, and an app add a language or replace single messages', async () => {
    const t = createTestApp({
      sink,
      mfa: {
        locale: (_req, user) => (user?.username === 'alice' ? 'de' : undefined),
        messages: { de: { 'challenge.title': 'Code eingeben', 'email.signon.subject': 'Ihr Anmeldecode: {code}' }, en: { 'button.verify': 'Check my code' } },
      },
    });
    await pairAlice(t);
    const a = agent(t.app);
    const after = sink.count();
    await login(a, 'alice', 'pw-alice');
    expect((await sink.next('alice@example.test', { after })).subject).toMatch(/^Ihr Anmeldecode: \d{6}$/);
    // Pages before sign-on have no user yet: the option sees none, and Accept-Language decides.
    const page = await a.get('/mfa/challenge').set('Accept-Language', 'de');
    expect(page.text).toContain('Code eingeben');
    expect(page.text).toContain('>Check my code<');
  });

  it('puts the brand on pages and emails, and uses the app\'s own templates first', async () => {
    const t = createTestApp({ sink, mfa: { views: APP_VIEWS, branding: { productName: 'Acme <Bank>', logoUrl: 'https://cdn.acme.test/logo.png', stylesheetUrl: '/acme.css' } } });
    await pairAlice(t);
    const a = agent(t.app);
    const after = sink.count();
    await login(a, 'alice', 'pw-alice');
    const mail = await sink.next('alice@example.test', { after });
    expect(mail.subject).toMatch(/^\[Acme\] Your sign-on code: \d{6}$/);
    expect(mail.html).toContain('<img src="https://cdn.acme.test/logo.png" alt="Acme &lt;Bank&gt;"');
    expect(mail.text.startsWith('Acme <Bank>')).toBe(true);
    const page = await a.get('/mfa/challenge');
    expect(page.text).toContain("The app's own challenge page.");
    expect(page.text).toContain('<title>Enter your code · Acme &lt;Bank&gt;</title>');
    expect(page.text).toContain('<link rel="stylesheet" href="/acme.css">');
    const done = await a.post('/mfa/challenge').type('form').send({ _mfa_csrf: /name="_mfa_csrf" value="([^"]+)"/.exec(page.text)![1], otp: codeFrom(mail) });
    expect(done.headers.location).toBe('/');
  });

  it('refuses branding URLs that could run script or leave the site insecurely', () => {
    for (const logoUrl of ['javascript:alert(1)', 'http://cdn.test/logo.png', '//evil.test/x.png', 'data:image/svg+xml,<svg/>']) {
      expect(() => createTestApp({ sink, mfa: { branding: { logoUrl } } }), logoUrl).toThrow(TypeError);
    }
  });
});
