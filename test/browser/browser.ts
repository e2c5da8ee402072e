import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { describe, expect } from 'vitest';
import { CSP } from './site.js';

/** Debian's Chromium (the `chromium` package). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const underCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false' && process.env.CI !== '0';
const haveChromium = existsSync(CHROMIUM);

if (!haveChromium) {
  if (underCi) {
    throw new Error(`Browser tests: Chromium is not installed at ${CHROMIUM}. Under CI they must run: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH.`);
  }
  console.warn(`\n[browser tests] SKIPPED: no Chromium at ${CHROMIUM}. Install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH to run them. Under CI (CI=true) this is an error.\n`);
}

/** describe() for browser tests: skipped with a message outside CI when Chromium is missing, never under CI. */
export const describeBrowser = describe.skipIf(!haveChromium);

/** This machine's network is closed: these flags stop Chromium's background connections. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

export const SCREENSHOTS = fileURLToPath(new URL('../../test-results/screenshots/', import.meta.url));

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface AxeNode {
  target: string[];
  html: string;
  failureSummary?: string;
}
interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  helpUrl: string;
  nodes: AxeNode[];
}

/** axe-core's violations on the page, one readable line per rule and node. */
export async function axeViolations(page: Page): Promise<string[]> {
  // Injected through the DevTools protocol: not subject to the page's CSP.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: unknown[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations;
  }) as AxeViolation[];
  return violations.flatMap((v) =>
    v.nodes.map((n) => `${v.id} [${v.impact ?? 'n/a'}] ${v.help}: ${n.target.join(' ')} — ${(n.failureSummary ?? '').replace(/\s*\n\s*/g, ' ')} — ${n.html} (${v.helpUrl})`),
  );
}

interface DocumentResponse {
  path: string;
  status: number;
  csp: string | undefined;
}

/**
 * One person's browser tab on the site, with what the tests watch for on
 * every page: CSP violations in the console, script errors, the headers of
 * the library's pages.
 */
export class Tab {
  readonly cspViolations: string[] = [];
  readonly pageErrors: string[] = [];
  readonly documents: DocumentResponse[] = [];

  private constructor(readonly context: BrowserContext, readonly page: Page) {
    page.on('console', (message) => {
      if (/Content[- ]Security[- ]Policy/i.test(message.text())) this.cspViolations.push(`${page.url()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => this.pageErrors.push(`${page.url()}: ${String(error)}`));
    page.on('response', (response) => {
      if (response.request().resourceType() !== 'document') return;
      const status = response.status();
      if (status >= 300 && status < 400) return;
      this.documents.push({ path: new URL(response.url()).pathname, status, csp: response.headers()['content-security-policy'] });
    });
  }

  /** `locale` sets the browser's language, and so its Accept-Language. */
  static async open(browser: Browser, baseURL: string, options: { locale?: string } = {}): Promise<Tab> {
    const context = await browser.newContext({ baseURL, viewport: DESKTOP, locale: options.locale });
    return new Tab(context, await context.newPage());
  }

  get path(): string {
    return new URL(this.page.url()).pathname;
  }

  async goto(path: string): Promise<void> {
    await this.page.goto(path);
  }

  /** Runs an action that loads a new document (a click on a submit button, Enter in a form) and waits for it to load. */
  async loads(action: () => Promise<unknown>): Promise<void> {
    const loaded = this.page.waitForEvent('load');
    await action();
    await loaded;
  }

  /** Clicks a button or link as a person would, and waits for the next page. */
  async click(target: Locator): Promise<void> {
    await this.loads(() => target.click());
  }

  /** Clicks into a field, selects what is there and types over it, key by key. */
  async typeInto(field: Locator, text: string): Promise<void> {
    await field.click();
    await this.page.keyboard.press('ControlOrMeta+A');
    await this.page.keyboard.type(text);
  }

  /**
   * The checks every page gets: axe-core finds no violation (a soft
   * assertion, so that one run lists every page's problems), and a PNG at
   * desktop and at phone width under test-results/screenshots/ (with `card`,
   * also the card alone: the pictures copied to docs/screenshots/).
   */
  async check(name: string, options: { card?: boolean } = {}): Promise<void> {
    expect.soft(await axeViolations(this.page), `axe-core violations on "${name}" (${this.path})`).toEqual([]);
    mkdirSync(SCREENSHOTS, { recursive: true });
    await this.page.screenshot({ path: `${SCREENSHOTS}${name}-desktop.png`, fullPage: true });
    if (options.card) {
      // The card and a margin of background only: the small desktop picture for docs/screenshots/.
      const box = await this.page.locator('main').boundingBox();
      if (box) {
        const margin = 32;
        await this.page.screenshot({
          path: `${SCREENSHOTS}${name}-card.png`,
          fullPage: true,
          clip: { x: box.x - margin, y: Math.max(0, box.y - margin), width: box.width + 2 * margin, height: box.height + 2 * margin },
        });
      }
    }
    await this.page.setViewportSize(PHONE);
    await this.page.screenshot({ path: `${SCREENSHOTS}${name}-phone.png`, fullPage: true });
    await this.page.setViewportSize(DESKTOP);
  }

  /**
   * No CSP violation and no script error so far, and every library page
   * (under /mfa/, not its stylesheet) came with the strict CSP; then starts
   * over for the next journey.
   */
  expectClean(): void {
    expect.soft(this.cspViolations, 'CSP violations reported in the console').toEqual([]);
    expect.soft(this.pageErrors, 'errors thrown in the page').toEqual([]);
    const library = this.documents.filter((d) => d.path.startsWith('/mfa/') && !d.path.startsWith('/mfa/assets/'));
    expect(library.length, 'library pages loaded').toBeGreaterThan(0);
    for (const doc of library) expect.soft(doc.csp, `Content-Security-Policy of ${doc.path} (${doc.status})`).toBe(CSP);
    this.cspViolations.length = 0;
    this.pageErrors.length = 0;
    this.documents.length = 0;
  }

  async close(): Promise<void> {
    await this.context.close();
  }
}

/** Whether `target` has the keyboard focus. */
export function isFocused(target: Locator): Promise<boolean> {
  return target.evaluate((el) => el === document.activeElement);
}

/** Whether the focused `target` shows a focus indicator (an outline from :focus-visible). */
export function showsFocus(target: Locator): Promise<boolean> {
  return target.evaluate((el) => {
    const style = getComputedStyle(el);
    return el.matches(':focus-visible') && style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
  });
}

/** Presses Tab until `target` has the focus, as a keyboard user would; fails when it is not reached. */
export async function tabTo(page: Page, target: Locator, what: string, maxPresses = 20): Promise<void> {
  for (let i = 0; i <= maxPresses; i++) {
    if (await isFocused(target)) {
      expect.soft(await showsFocus(target), `a visible focus indicator on ${what}`).toBe(true);
      return;
    }
    await page.keyboard.press('Tab');
  }
  const focused = await page.evaluate(() => document.activeElement?.outerHTML.slice(0, 200) ?? 'nothing');
  throw new Error(`${what} is not reached with Tab within ${maxPresses} presses on ${page.url()} (focus is on ${focused})`);
}

/** A code that is not `code`: its last digit changed. */
export function wrongCode(code: string): string {
  return code.slice(0, -1) + String((Number(code.at(-1)) + 1) % 10);
}
