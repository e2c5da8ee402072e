import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { codeOf } from '../helpers/app.js';
import { SmtpSink } from '../helpers/smtp.js';
import { Browser, describeFailure, isNetworkFailure, makeApp, pack, startApp, type AppSpec, type RunningApp } from './support.js';

// The packed library in an app shaped like Passport's own example,
// passport/todos-express-password: Express 4, CommonJS, passport-local,
// sessions, csurf app-wide, its own 404 and error handlers, and express-mfa
// mounted only as the README says. One install, started twice: csurf after
// app.use(auth) (the README's advice) and before it (where the example has
// it, before Passport). Mail goes over real SMTP to a sink.
const SPEC: AppSpec = {
  fixture: 'todos',
  type: 'commonjs',
  shared: [],
  dependencies: ['express@4.21.2', 'express-session@1.18.1', 'passport@0.7.0', 'passport-local@1.0.0', 'csurf@1.11.0', 'nodemailer@8.0.11'],
};
const VARIANTS = ['auth-first', 'csurf-first'] as const;
type Variant = (typeof VARIANTS)[number];

let work: string | undefined;
let sink: SmtpSink | undefined;
/** Why the app could not be installed, when that is the network's doing outside CI. */
let unavailable: string | undefined;
const apps: Partial<Record<Variant, RunningApp>> = {};

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'express-mfa-todos-'));
  const [tarball, started] = await Promise.all([pack(work), SmtpSink.start()]);
  sink = started;
  await mkdir(join(work, 'todos'));
  const install = await makeApp(join(work, 'todos'), tarball, SPEC);
  if (install.code !== 0) {
    if (isNetworkFailure(install) && !process.env.CI) {
      unavailable = 'the npm registry cannot be reached to install the todos app; skipping';
      console.warn(`[tests] ${unavailable}`);
      return;
    }
    throw new Error(describeFailure('npm install in the todos app', install));
  }
  const env = { SMTP_PORT: String(sink.port) };
  await Promise.all(VARIANTS.map(async (variant) => {
    apps[variant] = await startApp(join(work!, 'todos'), 'app.js', { ...env, CSRF_ORDER: variant });
  }));
}, 120_000);

afterAll(async () => {
  for (const app of Object.values(apps)) app.child.kill();
  await sink?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

interface Form {
  action: string;
  /** The form's named inputs with their values, as a browser would send them. */
  fields: Record<string, string>;
}

function decode(value: string): string {
  return value.replace(/&(amp|lt|gt|quot|#39|#x27);/g, (_m, name: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#x27': "'" })[name]!);
}

function formsOf(html: string): Form[] {
  return [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)].map(([, attrs = '', body = '']) => ({
    action: decode(/\baction="([^"]*)"/i.exec(attrs)?.[1] ?? ''),
    fields: Object.fromEntries(
      [...body.matchAll(/<input\b[^>]*>/gi)].flatMap(([tag]) => {
        const name = /\bname="([^"]*)"/i.exec(tag)?.[1];
        return name === undefined ? [] : [[decode(name), decode(/\bvalue="([^"]*)"/i.exec(tag)?.[1] ?? '')]];
      }),
    ),
  }));
}

/** The form on the page that posts to action (a RegExp for paths with ids). */
function formOf(html: string, action: string | RegExp): Form {
  const forms = formsOf(html);
  const form = forms.find((f) => (typeof action === 'string' ? f.action === action : action.test(f.action)));
  if (!form) throw new Error(`no form posting to ${action}; the page has ${forms.map((f) => f.action).join(', ') || 'none'}:\n${html.slice(0, 3000)}`);
  return form;
}

/** Where the link on the page whose text is `text` goes, as a person following it would. */
function linkOf(html: string, text: string): string {
  const links = [...html.matchAll(/<a\b([^>]*)>([\s\S]*?)<\/a>/gi)].map(([, attrs = '', body = '']) => ({
    href: decode(/\bhref="([^"]*)"/i.exec(attrs)?.[1] ?? ''),
    text: decode(body.replace(/<[^>]*>/g, '').trim()),
  }));
  const link = links.find((l) => l.text === text);
  if (!link) throw new Error(`no link "${text}"; the page has ${links.map((l) => `"${l.text}"`).join(', ') || 'none'}:\n${html.slice(0, 3000)}`);
  return link.href;
}

/** A test's view of one running app: the browser and how to read pages and submit their forms. */
class Visit {
  readonly browser: Browser;

  constructor(readonly app: RunningApp) {
    this.browser = new Browser(`http://127.0.0.1:${app.ready.port}`);
  }

  /** GET a page that must answer 200; its HTML. */
  async page(path: string): Promise<string> {
    const res = await this.browser.request(path);
    const html = await res.text();
    expect(res.status, `GET ${path}: ${html.slice(0, 1500)}\n--- app stderr\n${this.app.stderr()}`).toBe(200);
    return html;
  }

  /** GET a path that must redirect; where to. */
  async redirectOf(path: string): Promise<string> {
    const res = await this.browser.request(path);
    return this.where(res, `GET ${path}`);
  }

  /** POST the fields as a form does (urlencoded). */
  post(path: string, fields: Record<string, string>): Promise<Response> {
    return this.browser.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
  }

  /** Submits the form of the page, with the user's input, and expects a redirect; where to. */
  async submit(form: Form, input: Record<string, string> = {}): Promise<string> {
    return this.where(await this.post(form.action, { ...form.fields, ...input }), `POST ${form.action}`);
  }

  private async where(res: Response, what: string): Promise<string> {
    if (res.status !== 302 && res.status !== 303) {
      const body = await res.text();
      throw new Error(`${what}: expected a redirect, got ${res.status}: ${body.slice(0, 1500)}\n--- app stderr\n${this.app.stderr()}`);
    }
    return this.browser.redirect(res);
  }
}

function needsApp(ctx: TestContext): void {
  if (unavailable) ctx.skip(unavailable);
}

/** Both tokens on a library form when the app's csurf ran before it; only the library's otherwise. */
function expectTokens(form: Form, csurfFirst: boolean): void {
  expect(form.fields._mfa_csrf, `${form.action} carries the library's token`).toMatch(/^[\w-]{20,}$/);
  if (csurfFirst) expect(form.fields._csrf, `${form.action} carries the app's csurf token`).toMatch(/^\S{20,}$/);
  else expect(form.fields, `${form.action}: no app token to carry`).not.toHaveProperty('_csrf');
}

describe.each(VARIANTS)('the todos app (passport/todos-express-password) on the packed library, %s', (variant) => {
  const csurfFirst = variant === 'csurf-first';
  const user = { username: `carol-${variant}`, password: 'carol-pw', email: `carol.${variant}@example.test` };
  const second = `carol.${variant}.work@example.test`;
  let visit: Visit;

  beforeAll(() => {
    if (unavailable) return;
    const app = apps[variant];
    if (!app) throw new Error(`the ${variant} app did not start`);
    expect(app.ready.csurfFirst).toBe(csurfFirst);
    visit = new Visit(app);
  });

  it('keeps the app\'s own login: a wrong password goes back to /login with Passport\'s failure message', async (ctx) => {
    needsApp(ctx);
    const login = formOf(await visit.page('/login'), '/login/password');
    expect(login.fields._csrf).toMatch(/^\S{20,}$/);
    expect(await visit.submit(login, { username: 'alice', password: 'not-alice-pw' })).toBe('/login');
    expect(await visit.page('/login')).toContain('Incorrect username or password.');
  });

  it('signs a new user up: auth.logIn sends them to pair the profile address, the mailed code signs them on', async (ctx) => {
    needsApp(ctx);
    const signup = formOf(await visit.page('/signup'), '/signup');
    expect(await visit.submit(signup, user)).toBe('/mfa/enroll');

    const enrollPage = await visit.page('/mfa/enroll');
    expect(enrollPage).toContain(user.email);
    const enroll = formOf(enrollPage, '/mfa/enroll');
    expectTokens(enroll, csurfFirst);
    const after = sink!.count();
    expect(await visit.submit(enroll)).toBe('/mfa/enroll');
    const mail = await sink!.next(user.email, { after, subject: /confirm this email address/ });

    const verify = formOf(await visit.page('/mfa/enroll'), '/mfa/enroll/verify');
    expectTokens(verify, csurfFirst);
    expect(await visit.submit(verify, { otp: codeOf(mail.text) })).toBe('/');

    const todos = await visit.page('/');
    expect(todos).toContain(`todos of ${user.username}`);
    // The app's own csurf-protected form still works after the library's new session ids.
    expect(await visit.submit(formOf(todos, '/'), { title: 'buy milk' })).toBe('/');
    expect(await visit.page('/')).toContain('<li>buy milk</li>');
  });

  it('signs out through the sign-out button of the library\'s page and through the app\'s own form', async (ctx) => {
    needsApp(ctx);
    const devices = await visit.page('/mfa/devices');
    expect(devices).toContain(user.email);
    const signOut = formOf(devices, '/logout');
    if (csurfFirst) {
      // csurf ran before the library: its button carries the app's token and signs out.
      expect(signOut.fields._csrf).toMatch(/^\S{20,}$/);
      expect(await visit.submit(signOut)).toBe('/');
      expect(await visit.redirectOf('/')).toBe('/login');
      return;
    }
    // csurf after app.use(auth), as the README advises: the library's pages are
    // served before csurf runs, so there is no app token to carry and the
    // app's CSRF check refuses the button. It fails safe (the app's own 403,
    // still signed on); the app's own sign-out form works.
    expect(signOut.fields).toEqual({});
    const refused = await visit.post(signOut.action, signOut.fields);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toBe('todos error: EBADCSRFTOKEN');
    const todos = await visit.page('/');
    expect(todos).toContain(`todos of ${user.username}`);
    expect(await visit.submit(formOf(todos, '/logout'))).toBe('/');
    expect(await visit.redirectOf('/')).toBe('/login');
  });

  it('signs on again: password, then the mailed code at /mfa/challenge, back to the deep link', async (ctx) => {
    needsApp(ctx);
    expect(await visit.redirectOf('/active')).toBe('/login');
    const login = formOf(await visit.page('/login'), '/login/password');
    const after = sink!.count();
    expect(await visit.submit(login, { username: user.username, password: user.password })).toBe('/mfa/challenge');
    const mail = await sink!.next(user.email, { after, subject: /sign-on code/ });

    const challenge = formOf(await visit.page('/mfa/challenge'), '/mfa/challenge');
    expectTokens(challenge, csurfFirst);
    expect(await visit.submit(challenge, { otp: codeOf(mail.text) })).toBe('/active');
    const active = await visit.page('/active');
    expect(active).toContain(`todos of ${user.username}`);
    expect(active).toContain('<p class="filter">active</p>');
  });

  it('adds a second address on the devices page, confirms it with its code, renames it and removes it', async (ctx) => {
    needsApp(ctx);
    expect(await visit.page('/mfa/devices')).toContain('href="/mfa/devices/add"');
    // "Add a method" offers the kinds of method; the person follows "Email" to the address form.
    const choice = await visit.page('/mfa/devices/add');
    expect(formsOf(choice).map((f) => f.action)).not.toContain('/mfa/devices/add');
    const emailLink = linkOf(choice, 'Email');
    expect(emailLink).toBe('/mfa/devices/add?type=email');
    const add = formOf(await visit.page(emailLink), '/mfa/devices/add');
    expectTokens(add, csurfFirst);
    expect(add.fields.type).toBe('email');
    let after = sink!.count();
    const activatePath = await visit.submit(add, { email: second, nickname: 'Work' });
    const deviceId = /^\/mfa\/devices\/([^/]+)\/activate$/.exec(activatePath)?.[1];
    expect(deviceId, activatePath).toBeDefined();
    const pairing = await sink!.next(second, { after, subject: /confirm this email address/ });

    const activate = formOf(await visit.page(activatePath), activatePath);
    expectTokens(activate, csurfFirst);
    after = sink!.count();
    expect(await visit.submit(activate, { otp: codeOf(pairing.text) })).toBe('/mfa/devices');
    await sink!.next(user.email, { after, subject: /was added/ });

    let devices = await visit.page('/mfa/devices');
    expect(devices).toContain('<strong>Work</strong>');
    expect(devices).toContain(`<div class="mfa-help">${second} · Email</div>`);
    const rename = formOf(devices, `/mfa/devices/${deviceId}/rename`);
    expectTokens(rename, csurfFirst);
    expect(await visit.submit(rename, { nickname: 'Office' })).toBe('/mfa/devices');
    devices = await visit.page('/mfa/devices');
    expect(devices).toContain('<strong>Office</strong>');
    expect(devices).not.toContain('<strong>Work</strong>');

    const remove = formOf(devices, `/mfa/devices/${deviceId}/remove`);
    after = sink!.count();
    expect(await visit.submit(remove)).toBe('/mfa/devices');
    await sink!.next(user.email, { after, subject: /was removed/ });
    devices = await visit.page('/mfa/devices');
    // The notice names the method as the list did: by its nickname.
    expect(devices).toContain('Office was removed.');
    expect(devices).not.toContain(second);
    expect(formsOf(devices).map((f) => f.action).filter((action) => action.includes(deviceId!))).toEqual([]);
    expect(devices).toContain(`<strong>${user.email}</strong>`);
  });

  it('leaves the app\'s own 404 and csurf failure to the app\'s handlers; a library page without a sign-on goes to /login', async (ctx) => {
    needsApp(ctx);
    for (const path of ['/nope', '/mfa/nope']) {
      const res = await visit.browser.request(path);
      expect([path, res.status, await res.text()]).toEqual([path, 404, 'todos: not found']);
    }
    const forged = await visit.post('/logout', {});
    expect([forged.status, await forged.text()]).toEqual([403, 'todos error: EBADCSRFTOKEN']);
    const todos = await visit.page('/');
    expect(todos).toContain(`todos of ${user.username}`);

    expect(await visit.submit(formOf(todos, '/logout'))).toBe('/');
    expect(await visit.redirectOf('/')).toBe('/login');
    expect(await visit.redirectOf('/mfa/challenge')).toBe('/login');
    expect(await visit.redirectOf('/mfa/devices')).toBe('/login');
  });

  it('logs no [express-mfa] error', (ctx) => {
    needsApp(ctx);
    const stderr = visit.app.stderr();
    expect(stderr.split('\n').filter((line) => line.startsWith('[express-mfa] ERROR')), `the app's stderr:\n${stderr}`).toEqual([]);
  });
});
