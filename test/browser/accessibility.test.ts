import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { codeFrom } from '../helpers/smtp.js';
import { axeViolations, describeBrowser, isFocused, launch, Tab, tabTo, wrongCode } from './browser.js';
import { HOME_PATH, startSite, type Site } from './site.js';

const BOB = 'bob@example.test';

describeBrowser('in Chromium: keyboard only, announced errors, strict CSP', { timeout: 60_000 }, () => {
  let browser: Browser;
  // The library's defaults (a 30 s resend cooldown among them).
  let site: Site;

  beforeAll(async () => {
    [browser, site] = await Promise.all([launch(), startSite()]);
  });

  afterAll(async () => {
    await browser?.close();
    await site?.close();
  });

  /** Presses Enter on the focused control and waits for the page it loads. */
  async function enter(tab: Tab): Promise<void> {
    await tab.loads(() => tab.page.keyboard.press('Enter'));
  }

  /** Keyboard only: Tab to the field, type. */
  async function typeIn(page: Page, label: string, text: string): Promise<void> {
    await tabTo(page, page.getByLabel(label), `the "${label}" field`);
    await page.keyboard.type(text);
  }

  /** An error shown with role="alert" and tied to `field` by aria-invalid and aria-describedby. */
  async function expectFieldError(page: Page, field: string, message: RegExp): Promise<void> {
    const alert = page.getByRole('alert');
    await expect(alert.count()).resolves.toBe(1);
    await expect(alert.textContent()).resolves.toMatch(message);
    const id = await alert.getAttribute('id');
    expect(id).toBeTruthy();
    const input = page.getByLabel(field, { exact: true });
    await expect(input.getAttribute('aria-invalid')).resolves.toBe('true');
    await expect(input.getAttribute('aria-describedby')).resolves.toBe(id);
  }

  it('signs on with the keyboard alone (Tab, Enter, typing): a wrong password, pairing, a wrong code, then a code', async () => {
    const tab = await Tab.open(browser, site.url);
    const { page } = tab;
    try {
      await tab.goto('/signin');

      await typeIn(page, 'Username', 'bob');
      await typeIn(page, 'Password', 'not-the-password');
      await enter(tab);
      expect(tab.path).toBe('/signin');
      await expectFieldError(page, 'Password', /^Wrong username or password\.$/);
      await tab.check('signin-error');

      await typeIn(page, 'Username', 'bob');
      await typeIn(page, 'Password', 'pw-bob');
      await enter(tab);
      expect(tab.path).toBe('/mfa/enroll');

      const after = site.sink.count();
      await tabTo(page, page.getByRole('button', { name: 'Send code' }), 'the "Send code" button');
      await enter(tab);
      expect(tab.path).toBe('/mfa/enroll');
      // The code field has the focus when the page opens (autofocus).
      await expect(isFocused(page.getByLabel('Code'))).resolves.toBe(true);
      const code = codeFrom(await site.sink.next(BOB, { after }));

      await typeIn(page, 'Code', wrongCode(code));
      await enter(tab);
      await expectFieldError(page, 'Code', /not right/i);
      await expect(isFocused(page.getByLabel('Code'))).resolves.toBe(true);
      await tab.check('enroll-verify-wrong-code');

      // Too soon for a new code: announced, and not blamed on the code field.
      await tabTo(page, page.getByRole('button', { name: 'Send a new code' }), 'the "Send a new code" button');
      await enter(tab);
      await expect(page.getByRole('alert').textContent()).resolves.toMatch(/wait|seconds|soon/i);
      await expect(page.getByLabel('Code').getAttribute('aria-invalid')).resolves.toBeNull();
      await tab.check('enroll-verify-resend-too-soon');

      await typeIn(page, 'Code', code);
      await enter(tab);
      expect(tab.path).toBe(HOME_PATH);

      await tabTo(page, page.getByRole('button', { name: 'Sign out' }), 'the "Sign out" button');
      await enter(tab);
      expect(tab.path).toBe('/signin');

      const again = site.sink.count();
      await typeIn(page, 'Username', 'bob');
      await typeIn(page, 'Password', 'pw-bob');
      await enter(tab);
      expect(tab.path).toBe('/mfa/challenge');
      await expect(isFocused(page.getByLabel('Code'))).resolves.toBe(true);
      await typeIn(page, 'Code', codeFrom(await site.sink.next(BOB, { after: again })));
      await enter(tab);
      expect(tab.path).toBe(HOME_PATH);
      await expect(page.getByText('You are signed on as bob.').count()).resolves.toBe(1);
      tab.expectClean();
    } finally {
      await tab.close();
    }
  });

  it('tells a user without an email address why they cannot sign on, on an accessible page', async () => {
    const tab = await Tab.open(browser, site.url);
    const { page } = tab;
    try {
      await tab.goto('/signin');
      await tab.typeInto(page.getByLabel('Username'), 'nomail');
      await tab.typeInto(page.getByLabel('Password'), 'pw-nomail');
      await tab.click(page.getByRole('button', { name: 'Sign on' }));
      expect(tab.path).toBe('/mfa/enroll');
      await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Sign-on needs an email address');
      await expect(page.getByRole('alert').textContent()).resolves.toMatch(/no email address/);
      await tab.check('message-no-email');

      await tab.click(page.getByRole('link', { name: 'Back to the start' }));
      expect(tab.path).toBe('/signin');
      tab.expectClean();
    } finally {
      await tab.close();
    }
  });

  it('would see a CSP violation and an axe failure if a page had one (canary)', async () => {
    const tab = await Tab.open(browser, site.url);
    try {
      await tab.goto('/canary');
      expect(await tab.page.title()).toBe('canary'); // the inline script was blocked
      expect(tab.cspViolations.length).toBeGreaterThanOrEqual(2); // inline style and inline script
      expect((await axeViolations(tab.page)).some((v) => v.startsWith('label '))).toBe(true);
    } finally {
      await tab.close();
    }
  });
});
