/**
 * Pages auto-escape all values, set no inline script, and work under a
 * strict Content-Security-Policy.
 */
import { describe, expect, it } from 'vitest';
import type { Response } from 'supertest';
import { agent, codeOf, createTestApp, login, submit } from '../helpers/app.js';
import { answer, pairDevice, startSignOn, useSink } from './support.js';

const sink = useSink();

const EVIL_NICK = `<script>alert("x")</script>'"><img src=x onerror=alert(1)>`;
const EVIL_ADDRESS = `"><script>alert(1)</script>@evil.test`;

const TAG = /<([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^\s"'=<>/]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*)\s*\/?>/g;
const ATTRIBUTE = /\s+([^\s"'=<>/]+)(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?/g;

/** Tag and attribute names of a page, honouring quotes (escaped text inside a value is not an attribute). */
function tags(html: string): Array<{ name: string; attributes: string[] }> {
  return [...html.matchAll(TAG)].map(([, name, attrs]) => ({
    name: name!.toLowerCase(),
    attributes: [...attrs!.matchAll(ATTRIBUTE)].map(([, a]) => a!.toLowerCase()),
  }));
}

function expectStrictPage(res: Response, what: string) {
  expect(res.headers['content-type'], what).toMatch(/^text\/html/);
  const csp = res.headers['content-security-policy'] as string | undefined;
  expect(csp, `${what}: Content-Security-Policy`).toBeDefined();
  expect(csp!, what).toMatch(/default-src 'self'/);
  expect(csp!, what).toMatch(/frame-ancestors 'none'/);
  expect(csp!, what).not.toMatch(/unsafe-inline|unsafe-eval|\*|data:/);
  expect(res.headers['x-content-type-options'], what).toBe('nosniff');
  expect(res.headers['cache-control'], what).toMatch(/no-store/);

  const html = res.text;
  expect(html, what).not.toMatch(/<script\b/i);
  expect(html, what).not.toMatch(/javascript:/i);
  expect(html, what).not.toMatch(/<style\b/i);
  const found = tags(html);
  expect(found.length, what).toBeGreaterThan(10);
  for (const tag of found) {
    expect(['script', 'style', 'iframe', 'object', 'embed', 'svg', 'img'], `${what}: <${tag.name}>`).not.toContain(tag.name);
    for (const attribute of tag.attributes) {
      expect(attribute.startsWith('on'), `${what}: <${tag.name} ${attribute}>`).toBe(false);
      expect(attribute, `${what}: <${tag.name}>`).not.toBe('style');
    }
  }
  // Only same-origin resources.
  for (const [, url] of html.matchAll(/\s(?:src|href|action)="([^"]*)"/g)) expect(url!.startsWith('/'), `${what}: ${url}`).toBe(true);
}

function expectEscaped(html: string, what: string) {
  expect(html, what).not.toContain('<script>alert');
  expect(html, what).not.toContain('<img src=x');
  expect(html, what).not.toContain(`'">`);
}

describe('escaped output and a strict CSP on every page', () => {
  it('a nickname with markup and quotes is rendered escaped, on pages that pass the CSP checks', async () => {
    const t = createTestApp({ sink: sink() });
    const alice = t.users[0]!;
    const d1 = await pairDevice(t, sink(), 'u1', alice.email!);
    await pairDevice(t, sink(), 'u1', 'alice2@example.test', EVIL_NICK);
    await t.auth.devices.update('u1', d1.id, { nickname: EVIL_NICK });

    // The challenge page names the devices by nickname.
    const p = agent(t.app);
    const { code } = await startSignOn(p, sink(), alice);
    const challenge = await p.get('/mfa/challenge');
    expect(challenge.status).toBe(200);
    expectStrictPage(challenge, 'challenge');
    expectEscaped(challenge.text, 'challenge');
    expect(challenge.text).toContain('&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&#39;&#34;&gt;&lt;img src=x onerror=alert(1)&gt;');

    const wrong = await answer(p, code === '000000' ? '000001' : '000000');
    expect(wrong.status).toBe(400);
    expectStrictPage(wrong, 'challenge with an error');
    expectEscaped(wrong.text, 'challenge with an error');
    expect((await answer(p, code)).status).toBe(303);

    // "Your authentication methods" shows the nickname as text, in a value and in an aria-label.
    const list = await p.get('/mfa/devices');
    expectStrictPage(list, 'devices');
    expectEscaped(list.text, 'devices');
    expect(list.text.match(/&lt;script&gt;alert\(&#34;x&#34;\)&lt;\/script&gt;/g)!.length).toBeGreaterThanOrEqual(6);

    // Adding an address that is markup (posted as the email form does, with its type): refused, and the value echoed back escaped.
    const add = await submit(p, '/mfa/devices/add?type=email', '/mfa/devices/add', { type: 'email', email: EVIL_ADDRESS, nickname: EVIL_NICK });
    expect(add.status).toBe(400);
    expectStrictPage(add, 'device-add with an error');
    expectEscaped(add.text, 'device-add with an error');
    expect(add.text).toContain('value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;@evil.test"');

    const addPage = await p.get('/mfa/devices/add');
    expectStrictPage(addPage, 'device-add');
    const emailPage = await p.get('/mfa/devices/add?type=email');
    expect(emailPage.status).toBe(200);
    expectStrictPage(emailPage, 'device-add (email)');

    // Pairing page of a new address (nickname with markup).
    const after = sink().count();
    const added = await submit(p, '/mfa/devices/add?type=email', '/mfa/devices/add', { email: 'alice3@example.test', nickname: EVIL_NICK });
    expect(added.status).toBe(303);
    await sink().next('alice3@example.test', { after });
    const activate = await p.get(added.headers.location!);
    expect(activate.status).toBe(200);
    expectStrictPage(activate, 'device-activate');
    expectEscaped(activate.text, 'device-activate');

    // Rename through the page, then the list again.
    const id = /\/mfa\/devices\/([^/]+)\/activate/.exec(added.headers.location!)![1]!;
    const renamed = await submit(p, '/mfa/devices', `/mfa/devices/${id}/rename`, { nickname: `"><svg onload=alert(2)>` });
    expect(renamed.status).toBe(303);
    const again = await p.get('/mfa/devices');
    expect(again.text).not.toContain('<svg onload');
    expect(again.text).toContain('&#34;&gt;&lt;svg onload=alert(2)&gt;');

    // An error page.
    const missing = await p.get('/mfa/devices/no-such-device/activate');
    expect(missing.status).toBe(404);
    expectStrictPage(missing, 'message (404)');

    // The notice emails escape the address too (HTML part).
    for (const mail of sink().received.filter((m) => /authentication method was/.test(m.subject))) {
      expect(mail.html).not.toMatch(/<script\b/i);
    }
  });

  it('the enrolment pages and the refusal page pass the same checks', async () => {
    const users = [
      { id: 'u1', username: 'alice', password: 'pw-alice', email: `alice@example.test` },
      { id: 'u2', username: 'bob', password: 'pw-bob', email: `bob@example.test` },
      { id: 'u4', username: 'nomail', password: 'pw-nomail', email: `"><script>alert(1)</script>` },
    ];
    const t = createTestApp({ sink: sink(), users, mfa: { policy: { enrollAddress: 'any' } } });
    const e = agent(t.app);
    await login(e, 'bob', 'pw-bob');
    const enroll = await e.get('/mfa/enroll');
    expect(enroll.status).toBe(200);
    expectStrictPage(enroll, 'enroll');

    const bad = await submit(e, '/mfa/enroll', '/mfa/enroll', { email: EVIL_ADDRESS, nickname: EVIL_NICK });
    expect(bad.status).toBe(400);
    expectStrictPage(bad, 'enroll with an error');
    expectEscaped(bad.text, 'enroll with an error');

    const after = sink().count();
    expect((await submit(e, '/mfa/enroll', '/mfa/enroll', { email: 'bob@example.test', nickname: EVIL_NICK })).status).toBe(303);
    const code = codeOf((await sink().next('bob@example.test', { after })).text);
    const verify = await e.get('/mfa/enroll');
    expectStrictPage(verify, 'enroll-verify');
    expectEscaped(verify.text, 'enroll-verify');
    const wrong = await submit(e, '/mfa/enroll', '/mfa/enroll/verify', { otp: code === '000000' ? '000001' : '000000' });
    expectStrictPage(wrong, 'enroll-verify with an error');

    // A user whose profile address is markup: refused with a message page, nothing echoed.
    const n = agent(t.app);
    await login(n, 'nomail', 'pw-nomail');
    const page = await n.get('/mfa/enroll');
    expect(page.status).toBe(200);
    expectStrictPage(page, 'enroll (any address, invalid profile)');
    expectEscaped(page.text, 'enroll (any address, invalid profile)');
  });

  it('a user without an address is refused on a page that passes the same checks', async () => {
    const t = createTestApp({ sink: sink() });
    const n = agent(t.app);
    await login(n, 'nomail', 'pw-nomail');
    const page = await n.get('/mfa/enroll');
    expect(page.status).toBe(403);
    expectStrictPage(page, 'message (no email)');
  });
});
