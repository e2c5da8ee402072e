import type { Browser, CDPSession } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { codeFrom } from '../helpers/smtp.js';
import { describeBrowser, launch, Tab } from './browser.js';
import { HOME_PATH, startSite, type Site } from './site.js';

const ALICE = 'alice@example.test';
const SIGN_ON_MAIL = /^Your/;

/** Chromium's own virtual authenticator (the DevTools protocol's WebAuthn domain): a platform passkey that verifies the user. */
async function virtualAuthenticator(tab: Tab): Promise<{ cdp: CDPSession; id: string }> {
  const cdp = await tab.context.newCDPSession(tab.page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return { cdp, id: authenticatorId };
}

describeBrowser('in Chromium: a passkey paired on its page, then used to sign on; another authenticator is refused', { timeout: 90_000 }, () => {
  let browser: Browser;
  let site: Site;
  let tab: Tab;

  beforeAll(async () => {
    [browser, site] = await Promise.all([launch(), startSite({ signOutPath: '/signout' })]);
    // WebAuthn takes a domain for RP ID, never an IP address: the site is visited as localhost.
    tab = await Tab.open(browser, site.url.replace('127.0.0.1', 'localhost'));
  });

  afterAll(async () => {
    await tab?.close();
    await browser?.close();
    await site?.close();
  });

  async function signOnWithPassword(): Promise<void> {
    const { page } = tab;
    await tab.typeInto(page.getByLabel('Username'), 'alice');
    await tab.typeInto(page.getByLabel('Password'), 'pw-alice');
    await tab.click(page.getByRole('button', { name: 'Sign on' }));
  }

  it('pairs a passkey, signs on with it (amr hwk and user), and refuses an authenticator that was never paired', async () => {
    const { page } = tab;
    const first = await virtualAuthenticator(tab);
    await tab.goto(HOME_PATH);
    await signOnWithPassword();
    const sent = site.sink.count();
    await tab.click(page.getByRole('button', { name: 'Send code' }));
    await tab.typeInto(page.getByLabel('Code'), codeFrom(await site.sink.next(ALICE, { after: sent, subject: SIGN_ON_MAIL })));
    await tab.click(page.getByRole('button', { name: 'Verify' }));
    expect(tab.path).toBe(HOME_PATH);

    await tab.click(page.getByRole('link', { name: 'Your authentication methods' }));
    await tab.click(page.getByRole('link', { name: 'Add a method' }));
    await tab.click(page.getByRole('link', { name: 'Passkey or security key' }));
    await tab.check('fido2-add');
    await tab.click(page.getByRole('button', { name: 'Continue' }));
    expect(tab.path).toMatch(/^\/mfa\/devices\/[^/]+\/activate$/);
    await tab.check('fido2-pairing', { card: true });
    await tab.click(page.getByRole('button', { name: 'Create passkey' }));
    expect(tab.path).toBe('/mfa/devices');
    const names = await page.locator('li.mfa-device .mfa-device-head strong').allTextContents();
    expect(names).toEqual([ALICE, 'Passkey']);
    const { credentials } = await first.cdp.send('WebAuthn.getCredentials', { authenticatorId: first.id });
    expect(credentials).toHaveLength(1);

    // Make the passkey the default: the next sign-on asks for it, and mails nothing.
    await tab.click(page.getByRole('button', { name: 'Make default: Passkey' }));
    await tab.click(page.getByRole('button', { name: 'Sign out' }));
    await tab.goto(HOME_PATH);
    const before = site.sink.count();
    await signOnWithPassword();
    expect(tab.path).toBe('/mfa/challenge');
    await tab.check('challenge-fido2', { card: true });
    await tab.click(page.getByRole('button', { name: 'Use passkey' }));
    expect(tab.path).toBe(HOME_PATH);
    expect(site.sink.count()).toBe(before);
    const completed = site.app.events.filter((e) => e.type === 'signon.completed' && e.userId === 'u1').at(-1);
    expect(completed?.amr).toEqual(['pwd', 'hwk', 'user']);

    // Another authenticator, never paired, in place of the first: the browser finds no credential; nothing signs on.
    await tab.click(page.getByRole('button', { name: 'Sign out' }));
    await first.cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: first.id });
    await virtualAuthenticator(tab);
    await tab.goto(HOME_PATH);
    await signOnWithPassword();
    expect(tab.path).toBe('/mfa/challenge');
    await page.getByRole('button', { name: 'Use passkey' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('The passkey did not answer');
    expect(tab.path).toBe('/mfa/challenge');
    expect((await page.request.get('/plain')).status()).toBe(401);
    tab.expectClean();
  });
});
