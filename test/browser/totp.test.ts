import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { codeFrom } from '../helpers/smtp.js';
import { totpCode } from '../helpers/totp.js';
import { describeBrowser, launch, Tab } from './browser.js';
import { HOME_PATH, startSite, type Site } from './site.js';

const ALICE = 'alice@example.test';
const SIGN_ON_MAIL = /^Your/;

describeBrowser('in Chromium: an authenticator app paired from the QR page, and chosen instead of email at sign-on', { timeout: 60_000 }, () => {
  let browser: Browser;
  let site: Site;
  let tab: Tab;

  beforeAll(async () => {
    [browser, site] = await Promise.all([launch(), startSite({ signOutPath: '/signout' })]);
    tab = await Tab.open(browser, site.url);
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

  it('pairs an app by its key, then signs on with it after switching from the emailed code', async () => {
    const { page } = tab;
    await tab.goto(HOME_PATH);
    await signOnWithPassword();
    expect(tab.path).toBe('/mfa/enroll');
    let sent = site.sink.count();
    await tab.click(page.getByRole('button', { name: 'Send code' }));
    await tab.typeInto(page.getByLabel('Code'), codeFrom(await site.sink.next(ALICE, { after: sent, subject: SIGN_ON_MAIL })));
    await tab.click(page.getByRole('button', { name: 'Verify' }));
    expect(tab.path).toBe(HOME_PATH);

    // Add method → Authenticator app → the QR code and the key.
    await tab.click(page.getByRole('link', { name: 'Your authentication methods' }));
    await tab.click(page.getByRole('link', { name: 'Add a method' }));
    await tab.check('add-method', { card: true });
    await tab.click(page.getByRole('link', { name: 'Authenticator app' }));
    await tab.typeInto(page.getByLabel('Nickname'), 'Phone');
    await tab.click(page.getByRole('button', { name: 'Continue' }));
    expect(tab.path).toMatch(/^\/mfa\/devices\/[^/]+\/activate$/);
    const qr = page.getByRole('img', { name: /^express-mfa: alice@example\.test$/ });
    await expect(qr.count()).resolves.toBe(1);
    const box = await qr.boundingBox();
    expect(box!.width).toBeGreaterThan(120);
    const key = ((await page.locator('#mfa-totp-key').textContent()) ?? '').replace(/\s/g, '');
    expect(key).toMatch(/^[A-Z2-7]{32}$/);
    await tab.check('totp-pairing', { card: true });
    await tab.typeInto(page.getByLabel('Code'), totpCode(key, Date.now()));
    await tab.click(page.getByRole('button', { name: 'Confirm' }));
    expect(tab.path).toBe('/mfa/devices');
    await expect(page.locator('li.mfa-device .mfa-device-head strong').allTextContents()).resolves.toEqual([ALICE, 'Phone']);

    await tab.click(page.getByRole('button', { name: 'Sign out' }));
    await tab.goto(HOME_PATH);

    // The next sign-on mails a code to the default (email); the user picks the app instead.
    sent = site.sink.count();
    await signOnWithPassword();
    expect(tab.path).toBe('/mfa/challenge');
    await site.sink.next(ALICE, { after: sent, subject: SIGN_ON_MAIL });
    await tab.click(page.getByRole('button', { name: 'Use Phone' }));
    expect(tab.path).toBe('/mfa/challenge');
    await expect(page.getByText('Enter the 6-digit code that Phone shows.').count()).resolves.toBe(1);
    await expect(page.getByRole('button', { name: 'Send a new code' }).count()).resolves.toBe(0);
    await tab.check('challenge-totp', { card: true });
    // The code of the next step: the pairing spent the current one.
    await tab.typeInto(page.getByLabel('Code'), totpCode(key, Date.now() + 30_000));
    await tab.click(page.getByRole('button', { name: 'Verify' }));
    expect(tab.path).toBe(HOME_PATH);
    expect(site.sink.count()).toBe(sent + 1);
    tab.expectClean();
  });
});
