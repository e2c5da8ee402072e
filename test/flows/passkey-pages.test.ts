/**
 * The passkey pages without a browser: they load their two scripts from
 * files under /mfa/assets (never inline), keep working forms for everything
 * else, and say why a passkey needs JavaScript. The ceremonies themselves run
 * in Chromium (test/browser/fido2.test.ts) and by API (test/api/fido2.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agent, createTestApp, enrollAndSignOn, submit, type TestUser } from '../helpers/app.js';
import { SmtpSink } from '../helpers/smtp.js';

let sink: SmtpSink;
beforeAll(async () => {
  sink = await SmtpSink.start();
});
afterAll(async () => {
  await sink.close();
});

describe('the passkey pages', () => {
  it('pair with a button whose options are data, and two scripts served as files', async () => {
    const t = createTestApp({ sink });
    const u: TestUser = { id: 'pk1', username: 'pk1', password: 'pw-pk1', email: 'pk1@example.test' };
    t.users.push(u);
    const a = agent(t.app);
    expect((await enrollAndSignOn(a, sink, u)).status).toBe(303);
    const added = await submit(a, '/mfa/devices/add?type=fido2', '/mfa/devices/add', { type: 'fido2' });
    expect(added.status).toBe(303);
    const page = await a.get(added.headers.location as string);
    expect(page.status).toBe(200);
    const html = page.text;
    expect(html).toMatch(/<button type="button" class="mfa-primary" hidden data-mfa-webauthn="create" data-field="attestation" data-options="\{&#34;challenge&#34;/);
    expect([...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0])).toEqual([
      '<script src="/mfa/assets/simplewebauthn-browser.js" defer>',
      '<script src="/mfa/assets/webauthn.js" defer>',
    ]);
    expect(html).not.toMatch(/<script[^>]*>[^<]/);
    expect(html).toContain('Passkeys need JavaScript in this browser');
    expect(String(page.headers['content-security-policy'])).toBe("default-src 'self'; form-action 'self'; frame-ancestors 'none'");

    for (const [path, marker] of [['/mfa/assets/webauthn.js', 'data-mfa-webauthn'], ['/mfa/assets/simplewebauthn-browser.js', 'SimpleWebAuthnBrowser']] as const) {
      const script = await a.get(path);
      expect(script.status).toBe(200);
      expect(String(script.headers['content-type'])).toMatch(/^application\/javascript|^text\/javascript/);
      expect(script.text).toContain(marker);
      expect((await a.get(path).set('If-None-Match', String(script.headers.etag))).status).toBe(304);
    }
  });
});
