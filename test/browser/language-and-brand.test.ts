import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { en } from '../../src/i18n/en.js';
import { fr } from '../../src/i18n/fr.js';
import { codeFrom } from '../helpers/smtp.js';
import { describeBrowser, launch, Tab } from './browser.js';
import { startSite, type Site } from './site.js';

const LOGO = `<svg xmlns="http://www.w3.org/2000/svg" width="120" height="32" viewBox="0 0 120 32"><rect width="32" height="32" rx="8" fill="#6a1b9a"/><text x="40" y="23" font-family="Arial" font-size="20" font-weight="700" fill="#1d2330">Acme</text></svg>`;
const BRAND_CSS = ':root { --mfa-accent: #6a1b9a; --mfa-bg: #f5f0fa; }\n.mfa-card { border-top: 4px solid #6a1b9a; }\n';

/** Pieces of English text (between placeholders) that a French page must not show. */
const ENGLISH = Object.entries(en)
  .filter(([key, text]) => !key.startsWith('email.') && (fr as Record<string, string>)[key] !== text)
  .flatMap(([, text]) => text.split(/\{\w+\}/))
  .map((piece) => piece.trim())
  .filter((piece) => piece.length >= 6);

describeBrowser('in Chromium: the pages in French, with the app\'s brand', { timeout: 60_000 }, () => {
  let browser: Browser;
  let site: Site;
  let tab: Tab;

  beforeAll(async () => {
    [browser, site] = await Promise.all([
      launch(),
      startSite({ branding: { productName: 'Acme', logoUrl: '/brand/logo.svg', stylesheetUrl: '/brand/acme.css' } }),
    ]);
    site.app.app.get('/brand/logo.svg', (_req, res) => res.type('image/svg+xml').send(LOGO));
    site.app.app.get('/brand/acme.css', (_req, res) => res.type('css').send(BRAND_CSS));
    tab = await Tab.open(browser, site.url, { locale: 'fr-FR' });
  });

  afterAll(async () => {
    await tab?.close();
    await browser?.close();
    await site?.close();
  });

  async function expectFrench(): Promise<void> {
    const text = await tab.page.locator('body').innerText();
    expect(await tab.page.getAttribute('html', 'lang')).toBe('fr');
    expect(ENGLISH.filter((piece) => text.includes(piece)), `English on ${tab.path}`).toEqual([]);
  }

  it('pairs and signs on in French, branded, with French emails', async () => {
    const { page } = tab;
    await tab.goto('/profile');
    await tab.typeInto(page.getByLabel('Username'), 'alice');
    await tab.typeInto(page.getByLabel('Password'), 'pw-alice');
    await tab.click(page.getByRole('button', { name: 'Sign on' }));

    expect(tab.path).toBe('/mfa/enroll');
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe(fr['enroll.title']);
    await expect(page.title()).resolves.toBe(`${fr['enroll.title']} · Acme`);
    await expect(page.getByRole('img', { name: 'Acme' }).evaluate((img: HTMLImageElement) => img.naturalWidth)).resolves.toBeGreaterThan(0);
    const accent = await page.getByRole('button', { name: fr['button.sendCode'] }).evaluate((b) => getComputedStyle(b).backgroundColor);
    expect(accent).toBe('rgb(106, 27, 154)');
    await expectFrench();
    await tab.check('fr-enroll');

    const after = site.sink.count();
    await tab.click(page.getByRole('button', { name: fr['button.sendCode'] }));
    const mail = await site.sink.next('alice@example.test', { after });
    expect(mail.subject).toMatch(/^Votre code pour confirmer cette adresse e-mail : \d{6}$/);
    expect(mail.text).toContain('Acme');
    expect(mail.text).toContain(fr['email.pairing.intro']);

    await tab.typeInto(page.getByLabel(fr['label.code']), '000000');
    await tab.click(page.getByRole('button', { name: fr['button.verify'] }));
    await expect(page.getByRole('alert').textContent()).resolves.toBe('Ce code est incorrect. Il vous reste 2 essais.');
    await expectFrench();
    await tab.check('fr-enroll-wrong-code');

    await tab.typeInto(page.getByLabel(fr['label.code']), codeFrom(mail));
    await tab.click(page.getByRole('button', { name: fr['button.verify'] }));
    expect(tab.path).toBe('/profile');

    await tab.goto('/mfa/devices');
    await expectFrench();
    await tab.check('fr-devices');
    tab.expectClean();
  });

  it('shows the challenge in French, and the branded page for the README', async () => {
    const { page } = tab;
    await tab.goto('/profile');
    await tab.click(page.getByRole('button', { name: 'Sign out' }));
    await tab.goto('/profile');
    await tab.typeInto(page.getByLabel('Username'), 'alice');
    await tab.typeInto(page.getByLabel('Password'), 'pw-alice');
    const after = site.sink.count();
    await tab.click(page.getByRole('button', { name: 'Sign on' }));
    expect(tab.path).toBe('/mfa/challenge');
    const mail = await site.sink.next('alice@example.test', { after });
    expect(mail.subject).toMatch(/^Votre code de connexion : \d{6}$/);
    await expectFrench();
    await tab.check('fr-challenge', { card: true });
    await tab.typeInto(page.getByLabel(fr['label.code']), codeFrom(mail));
    await tab.click(page.getByRole('button', { name: fr['button.verify'] }));
    expect(tab.path).toBe('/profile');
    tab.expectClean();
  });
});
