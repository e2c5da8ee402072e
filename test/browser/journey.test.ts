import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { codeFrom } from '../helpers/smtp.js';
import { describeBrowser, launch, Tab, wrongCode } from './browser.js';
import { HOME_PATH, STEP_UP_MAX_AGE_MS, STEP_UP_PATH, startSite, type Site } from './site.js';

const ALICE = 'alice@example.test';
const WORK = 'alice.work@example.test';

describeBrowser('in Chromium: a person signs on, answers codes, manages methods and steps up', { timeout: 60_000 }, () => {
  let browser: Browser;
  let site: Site;
  let tab: Tab;
  /** When alice last answered a sign-on or step-up code. */
  let lastMfaAt = 0;

  beforeAll(async () => {
    // resendCooldown 0: "Send a new code" right after a wrong answer works, as it would after 30 s.
    [browser, site] = await Promise.all([launch(), startSite({ methods: { email: { resendCooldown: 0 } } })]);
    tab = await Tab.open(browser, site.url);
  });

  afterAll(async () => {
    await tab?.close();
    await browser?.close();
    await site?.close();
  });

  async function signOnWithPassword(username: string, password: string): Promise<void> {
    const { page } = tab;
    await tab.typeInto(page.getByLabel('Username'), username);
    await tab.typeInto(page.getByLabel('Password'), password);
    await tab.click(page.getByRole('button', { name: 'Sign on' }));
  }

  it('pairs the profile address during the first sign-on and comes back to the page asked for', async () => {
    const { page } = tab;
    await tab.goto('/profile');
    expect(tab.path).toBe('/signin');
    await tab.check('signin');

    await signOnWithPassword('alice', 'pw-alice');
    expect(tab.path).toBe('/mfa/enroll');
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Set up sign-on codes');
    await expect(page.getByLabel('Email address').inputValue()).resolves.toBe(ALICE);
    await tab.check('enroll', { card: true });

    const after = site.sink.count();
    await tab.click(page.getByRole('button', { name: 'Send code' }));
    expect(tab.path).toBe('/mfa/enroll');
    await expect(page.getByRole('status').textContent()).resolves.toMatch(/^We sent a code to a•+e@example\.test\.$/);
    await tab.check('enroll-verify');

    const mail = await site.sink.next(ALICE, { after });
    await tab.typeInto(page.getByLabel('Code'), codeFrom(mail));
    await tab.click(page.getByRole('button', { name: 'Verify' }));
    expect(tab.path).toBe('/profile');
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Your profile');
    await tab.check('profile');

    await tab.click(page.getByRole('button', { name: 'Sign out' }));
    expect(tab.path).toBe('/signin');
    tab.expectClean();
  });

  it('signs on again and answers a code: a wrong one first, then a new code', async () => {
    const { page } = tab;
    const after = site.sink.count();
    await signOnWithPassword('alice', 'pw-alice');
    expect(tab.path).toBe('/mfa/challenge');
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Enter your code');
    await tab.check('challenge', { card: true });
    const first = codeFrom(await site.sink.next(ALICE, { after }));

    await tab.typeInto(page.getByLabel('Code'), wrongCode(first));
    await tab.click(page.getByRole('button', { name: 'Verify' }));
    expect(tab.path).toBe('/mfa/challenge');
    const alert = page.getByRole('alert');
    await expect(alert.textContent()).resolves.toMatch(/code/i);
    const field = page.getByLabel('Code');
    await expect(field.getAttribute('aria-invalid')).resolves.toBe('true');
    await expect(field.getAttribute('aria-describedby')).resolves.toBe(await alert.getAttribute('id'));
    await tab.check('challenge-wrong-code');

    const resent = site.sink.count();
    await tab.click(page.getByRole('button', { name: 'Send a new code' }));
    await expect(page.getByRole('status').textContent()).resolves.toMatch(/We sent a new code to a•+e@example\.test\. Earlier codes no longer work\./);
    await expect(page.getByRole('alert').count()).resolves.toBe(0);
    await tab.check('challenge-new-code');
    const second = codeFrom(await site.sink.next(ALICE, { after: resent }));

    await tab.typeInto(page.getByLabel('Code'), second);
    await tab.click(page.getByRole('button', { name: 'Verify' }));
    lastMfaAt = Date.now();
    expect(tab.path).toBe(HOME_PATH);
    await expect(page.getByText('You are signed on as alice.').count()).resolves.toBe(1);
    await tab.check('home');
    tab.expectClean();
  });

  it('adds a second address on "Your authentication methods", pairs it, renames it, makes it the default, removes the first', async () => {
    const { page } = tab;
    await tab.click(page.getByRole('link', { name: 'Your authentication methods' }));
    expect(tab.path).toBe('/mfa/devices');
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Your authentication methods');
    await expect(page.getByRole('listitem').count()).resolves.toBe(1);
    await tab.check('devices');

    // "Add a method" offers the kinds of method first; "Email" leads to the address form.
    await tab.click(page.getByRole('link', { name: 'Add a method' }));
    expect(tab.path).toBe('/mfa/devices/add');
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Add an authentication method');
    await expect(page.getByRole('link', { name: 'Authenticator app' }).count()).resolves.toBe(1);
    await tab.check('device-add');

    await tab.click(page.getByRole('link', { name: 'Email', exact: true }));
    expect(new URL(page.url()).search).toBe('?type=email');
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Add an email address');
    await tab.check('device-add-email');

    // An address the browser accepts (type="email") but the library refuses: the error is tied to the field.
    await tab.typeInto(page.getByLabel('Email address'), 'alice@work');
    await tab.click(page.getByRole('button', { name: 'Send code' }));
    const email = page.getByLabel('Email address');
    await expect(page.getByRole('alert').textContent()).resolves.toBe('Enter one email address, such as name@example.com.');
    await expect(email.getAttribute('aria-invalid')).resolves.toBe('true');
    await expect(email.getAttribute('aria-describedby')).resolves.toBe('mfa-error');
    await expect(email.inputValue()).resolves.toBe('alice@work');
    await tab.check('device-add-error');

    await tab.typeInto(email, WORK);
    await tab.typeInto(page.getByLabel('Nickname'), 'Work');
    const sent = site.sink.count();
    await tab.click(page.getByRole('button', { name: 'Send code' }));
    expect(tab.path).toMatch(/^\/mfa\/devices\/[^/]+\/activate$/);
    await expect(page.getByRole('status').textContent()).resolves.toMatch(/^We sent a code to a•+k@example\.test\.$/);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Confirm your email address');
    await tab.check('device-activate');
    const code = codeFrom(await site.sink.next(WORK, { after: sent }));

    await tab.typeInto(page.getByLabel('Code'), wrongCode(code));
    await tab.click(page.getByRole('button', { name: 'Confirm' }));
    await expect(page.getByRole('alert').count()).resolves.toBe(1);
    await expect(page.getByLabel('Code').getAttribute('aria-invalid')).resolves.toBe('true');
    await expect(page.getByLabel('Code').getAttribute('aria-describedby')).resolves.toBe('mfa-error');
    await tab.check('device-activate-wrong-code');

    await tab.typeInto(page.getByLabel('Code'), code);
    await tab.click(page.getByRole('button', { name: 'Confirm' }));
    expect(tab.path).toBe('/mfa/devices');
    // The new method is named by its nickname; its address is under it, with the method.
    await expect(page.getByRole('status').textContent()).resolves.toBe('Work is now one of your authentication methods.');
    await expect(page.getByText(`${WORK} · Email`, { exact: true }).count()).resolves.toBe(1);
    await expect(page.getByRole('listitem').count()).resolves.toBe(2);
    await tab.check('devices-two');

    const work = page.getByRole('listitem').filter({ hasText: WORK });
    await tab.typeInto(work.getByLabel('Nickname'), 'Office');
    await tab.click(work.getByRole('button', { name: 'Rename' }));
    await expect(page.getByRole('status').textContent()).resolves.toBe('The method was renamed.');
    const office = page.getByRole('listitem').filter({ hasText: 'Office' });
    await expect(office.getByLabel('Nickname').inputValue()).resolves.toBe('Office');
    await expect(office.getByText('Default', { exact: true }).count()).resolves.toBe(0);

    await tab.click(office.getByRole('button', { name: 'Make default' }));
    await expect(page.getByRole('status').textContent()).resolves.toBe('The default method was changed.');
    await expect(office.getByText('Default', { exact: true }).count()).resolves.toBe(1);
    const profile = page.getByRole('listitem').filter({ hasText: ALICE });
    await expect(profile.getByText('Default', { exact: true }).count()).resolves.toBe(0);
    await tab.check('devices-renamed-default', { card: true });

    await tab.click(page.getByRole('button', { name: `Remove ${ALICE}` }));
    await expect(page.getByRole('status').textContent()).resolves.toBe(`${ALICE} was removed.`);
    await expect(page.getByRole('listitem').count()).resolves.toBe(1);
    await expect(page.getByRole('listitem').textContent()).resolves.toContain(WORK);

    // The last method cannot go: the refusal is announced.
    await tab.click(page.getByRole('button', { name: 'Remove Office' }));
    await expect(page.getByRole('alert').textContent()).resolves.toBe('This is your only method: add another one before you remove it.');
    await expect(page.getByRole('listitem').count()).resolves.toBe(1);
    await tab.check('devices-only-method');
    tab.expectClean();
  });

  it('sends them through a fresh code on a step-up route, then back to it', async () => {
    const { page } = tab;
    // Let the last MFA grow older than the route's maxAge (a short real wait, no clock tricks).
    const wait = lastMfaAt + STEP_UP_MAX_AGE_MS + 100 - Date.now();
    if (wait > 0) await page.waitForTimeout(wait);

    await tab.goto(HOME_PATH);
    await tab.click(page.getByRole('link', { name: 'Payees' }));
    expect(tab.path).toBe('/mfa/challenge');
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Confirm it is you');
    await expect(page.getByText('To continue, confirm it is you with a one-time code.').count()).resolves.toBe(1);
    await tab.check('stepup');

    const after = site.sink.count();
    await tab.click(page.getByRole('button', { name: 'Send code' }));
    expect(tab.path).toBe('/mfa/challenge');
    await expect(page.getByRole('status').textContent()).resolves.toMatch(/^We sent a code to Office \(a•+k@example\.test\)\.$|^We sent a code to a•+k@example\.test\.$/);
    await tab.check('stepup-code');
    const code = codeFrom(await site.sink.next(WORK, { after }));

    await tab.typeInto(page.getByLabel('Code'), code);
    await tab.click(page.getByRole('button', { name: 'Verify' }));
    expect(tab.path).toBe(STEP_UP_PATH);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Payees');
    await tab.check('stepup-done');
    tab.expectClean();
  });
});
