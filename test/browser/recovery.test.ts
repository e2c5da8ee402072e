import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { codeFrom } from '../helpers/smtp.js';
import { describeBrowser, launch, Tab } from './browser.js';
import { HOME_PATH, startSite, type Site } from './site.js';

const ALICE = 'alice@example.test';
const WORK = 'alice.work@example.test';
/** A mail with a code (not a notice: "A recovery code was used" names a code too). */
const SIGN_ON_MAIL = /^Your/;

describeBrowser('in Chromium: recovery codes, the order of methods, the header nav', { timeout: 60_000 }, () => {
  let browser: Browser;
  let site: Site;
  let tab: Tab;
  /** The codes read from the page that showed them. */
  let codes: string[] = [];

  beforeAll(async () => {
    // signOutPath: the library's pages offer the app's sign-out to a signed-on user.
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

  /** The "Recovery codes" section of "Your authentication methods" (a region named by its heading). */
  function recoverySection(page: Page) {
    return page.getByRole('region', { name: 'Recovery codes' });
  }

  /** The methods in their order, each as its name and whether it shows the Default badge. */
  async function methods(page: Page): Promise<{ name: string; isDefault: boolean }[]> {
    const items = page.locator('li.mfa-device');
    const out: { name: string; isDefault: boolean }[] = [];
    for (let i = 0; i < (await items.count()); i++) {
      const item = items.nth(i);
      out.push({
        name: (await item.locator('.mfa-device-head strong').textContent()) ?? '',
        isDefault: (await item.getByText('Default', { exact: true }).count()) === 1,
      });
    }
    return out;
  }

  it('pairs two addresses, generates codes (shown once, on an accessible page), warns when few are left, reorders the methods', async () => {
    const { page } = tab;
    await tab.goto(HOME_PATH);
    await signOnWithPassword();
    expect(tab.path).toBe('/mfa/enroll');
    const sent = site.sink.count();
    await tab.click(page.getByRole('button', { name: 'Send code' }));
    await tab.typeInto(page.getByLabel('Code'), codeFrom(await site.sink.next(ALICE, { after: sent, subject: SIGN_ON_MAIL })));
    await tab.click(page.getByRole('button', { name: 'Verify' }));
    expect(tab.path).toBe(HOME_PATH);

    await tab.click(page.getByRole('link', { name: 'Your authentication methods' }));
    expect(tab.path).toBe('/mfa/devices');
    // The header nav: the app's home, and its sign-out for a signed-on user.
    const nav = page.getByRole('navigation', { name: 'The app' });
    await expect(nav.getByRole('link', { name: 'Home' }).getAttribute('href')).resolves.toBe(HOME_PATH);
    await expect(nav.getByRole('button', { name: 'Sign out' }).count()).resolves.toBe(1);

    // "Add a method", then the kind: "Email".
    await tab.click(page.getByRole('link', { name: 'Add a method' }));
    await tab.click(page.getByRole('link', { name: 'Email', exact: true }));
    await tab.typeInto(page.getByLabel('Email address'), WORK);
    const added = site.sink.count();
    await tab.click(page.getByRole('button', { name: 'Send code' }));
    await tab.typeInto(page.getByLabel('Code'), codeFrom(await site.sink.next(WORK, { after: added, subject: SIGN_ON_MAIL })));
    await tab.click(page.getByRole('button', { name: 'Confirm' }));
    expect(tab.path).toBe('/mfa/devices');
    await expect(methods(page)).resolves.toEqual([{ name: ALICE, isDefault: true }, { name: WORK, isDefault: false }]);
    await expect(recoverySection(page).textContent()).resolves.toMatch(/You have no recovery codes\.[\s\S]*Generate recovery codes now/);
    await tab.check('devices-two-recovery-none');

    // A fresh MFA (the sign-on just now): the button shows the codes at once.
    await tab.click(recoverySection(page).getByRole('button', { name: 'Generate new codes' }));
    expect(tab.path).toBe('/mfa/devices/recovery-codes');
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Your recovery codes');
    codes = await page.locator('ol.mfa-codes code').allTextContents();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    await tab.check('recovery-codes', { card: true });

    await tab.click(page.getByRole('link', { name: 'Back to your authentication methods' }));
    await expect(recoverySection(page).textContent()).resolves.toContain('Recovery codes: 10 left');

    // The confirmation page (what the button leads to after a step-up): shown, not answered.
    await tab.goto('/mfa/devices/recovery-codes');
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Generate new recovery codes');
    await expect(page.getByRole('button', { name: 'Generate new codes' }).count()).resolves.toBe(1);
    await tab.check('recovery-generate');
    await tab.click(page.getByRole('link', { name: 'Back to your authentication methods' }));

    // Eight used elsewhere (the app's own code): two left, and a warning. codes[0] and codes[1] stay for the sign-on below.
    for (const code of codes.slice(2)) await site.app.auth.recoveryCodes.use('u1', code);
    await tab.goto('/mfa/devices');
    await expect(recoverySection(page).textContent()).resolves.toMatch(/Recovery codes: 2 left[\s\S]*Few recovery codes are left: generate a new set\./);
    await tab.check('devices-recovery-low');

    // The default is the first active method: moving it down gives the badge to the other one.
    await tab.click(page.getByRole('button', { name: `Move down: ${ALICE}` }));
    expect(tab.path).toBe('/mfa/devices');
    await expect(page.getByRole('status').textContent()).resolves.toBe('The order of your methods was changed.');
    await expect(methods(page)).resolves.toEqual([{ name: WORK, isDefault: true }, { name: ALICE, isDefault: false }]);
    await expect(page.getByRole('button', { name: `Move up: ${ALICE}` }).count()).resolves.toBe(1);
    await expect(page.getByRole('button', { name: `Move down: ${ALICE}` }).count()).resolves.toBe(0);
    await tab.check('devices-moved');

    // Signs out from the library's page itself.
    await tab.click(page.getByRole('navigation', { name: 'The app' }).getByRole('button', { name: 'Sign out' }));
    expect(tab.path).toBe('/signin');
    tab.expectClean();
  });

  it('signs on with a recovery code: a wrong one first (the error tied to the field), then one of the codes; that code is refused the next time', async () => {
    const { page } = tab;
    expect(codes).toHaveLength(10);
    await tab.goto(HOME_PATH);
    await signOnWithPassword();
    expect(tab.path).toBe('/mfa/challenge');
    await tab.click(page.getByRole('link', { name: 'Use a recovery code' }));
    expect(tab.path).toBe('/mfa/recovery');
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Use a recovery code');
    // Not signed on yet: the nav has the home link and no sign-out.
    await expect(page.getByRole('navigation', { name: 'The app' }).getByRole('button', { name: 'Sign out' }).count()).resolves.toBe(0);
    const field = page.getByLabel('Recovery code', { exact: true });
    await expect(field.getAttribute('aria-describedby')).resolves.toBe('recoveryCode-help');
    await tab.check('recovery', { card: true });

    // Well formed, but not one of hers.
    const wrong = [...codes[1]!].reverse().join('');
    await tab.typeInto(field, wrong);
    await tab.click(page.getByRole('button', { name: 'Sign on' }));
    expect(tab.path).toBe('/mfa/recovery');
    const alert = page.getByRole('alert');
    await expect(alert.textContent()).resolves.toBe('That recovery code is not right, or it was already used.');
    await expect(field.getAttribute('aria-invalid')).resolves.toBe('true');
    await expect(field.getAttribute('aria-describedby')).resolves.toBe(await alert.getAttribute('id'));
    await tab.check('recovery-wrong-code');

    await tab.typeInto(field, codes[0]!);
    await tab.click(page.getByRole('button', { name: 'Sign on' }));
    expect(tab.path).toBe(HOME_PATH);
    await expect(page.getByText('You are signed on as alice.').count()).resolves.toBe(1);
    await tab.click(page.getByRole('button', { name: 'Sign out' }));
    expect(tab.path).toBe('/signin');

    // A second sign-on: the same code again is refused.
    await signOnWithPassword();
    expect(tab.path).toBe('/mfa/challenge');
    await tab.click(page.getByRole('link', { name: 'Use a recovery code' }));
    await tab.typeInto(page.getByLabel('Recovery code', { exact: true }), codes[0]!);
    await tab.click(page.getByRole('button', { name: 'Sign on' }));
    expect(tab.path).toBe('/mfa/recovery');
    await expect(page.getByRole('alert').textContent()).resolves.toBe('That recovery code is not right, or it was already used.');
    await expect(page.getByLabel('Recovery code', { exact: true }).getAttribute('aria-invalid')).resolves.toBe('true');
    await tab.goto(HOME_PATH);
    expect(tab.path).not.toBe(HOME_PATH);
    tab.expectClean();
  });
});
