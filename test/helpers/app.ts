import express from 'express';
import session from 'express-session';
import passport from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import request from 'supertest';
import { mfa, type MfaEvent, type MfaOptions, type MfaMiddleware } from '../../src/index.js';
import { SmtpSink } from './smtp.js';

export interface TestUser {
  id: string;
  username: string;
  password: string;
  email: string | null;
  admin?: boolean;
}

export const SECRET = 'test-secret-that-is-at-least-32-bytes-long!';

export function makeUsers(): TestUser[] {
  return [
    { id: 'u1', username: 'alice', password: 'pw-alice', email: 'alice@example.test' },
    { id: 'u2', username: 'bob', password: 'pw-bob', email: 'bob@example.test' },
    { id: 'u3', username: 'root', password: 'pw-root', email: 'root@example.test', admin: true },
    { id: 'u4', username: 'nomail', password: 'pw-nomail', email: null },
  ];
}

export interface TestAppOptions {
  mfa?: Partial<MfaOptions<TestUser>>;
  users?: TestUser[];
  sink: SmtpSink;
  sessionStore?: session.Store;
  /** false: the app parses no forms itself, so the library's own parser reads the forms of its pages. */
  formParser?: boolean;
  /** Middleware of the app's (or the library's, such as auth.rateLimit) mounted before session(). */
  beforeSession?: (app: express.Express, auth: MfaMiddleware<TestUser>) => void;
  /** Middleware of the app's mounted after passport.session() and before the library (an app-wide CSRF check, say). */
  beforeLibrary?: (app: express.Express) => void;
  /** Extra routes mounted after the library. */
  routes?: (app: express.Express, auth: MfaMiddleware<TestUser>, passport: passport.PassportStatic) => void;
}

export interface TestApp {
  app: express.Express;
  auth: MfaMiddleware<TestUser>;
  users: TestUser[];
  events: MfaEvent[];
  logs: { level: string; message: string; error?: unknown }[];
  passport: passport.PassportStatic;
}

/** An Express + Passport app as a user of the library would write it, with protected routes. */
export function createTestApp(options: TestAppOptions): TestApp {
  const users = options.users ?? makeUsers();
  const app = express();
  const authenticator = new passport.Passport() as unknown as passport.PassportStatic;
  authenticator.use(
    new LocalStrategy((username, password, done) => {
      const user = users.find((u) => u.username === username && u.password === password);
      done(null, user ?? false, user ? undefined : { message: 'Wrong username or password.' });
    }),
  );
  authenticator.serializeUser((user, done) => done(null, (user as TestUser).id));
  authenticator.deserializeUser((id: string, done) => done(null, users.find((u) => u.id === id) ?? false));

  const logs: TestApp['logs'] = [];
  const auth = mfa<TestUser>({
    secret: SECRET,
    passport: authenticator,
    user: { id: (u) => u.id, email: (u) => u.email },
    email: { transport: options.sink.transport(), from: 'Acme <no-reply@acme.test>' },
    policy: { skip: (u) => u.admin === true },
    logger: {
      info: (message) => logs.push({ level: 'info', message }),
      warn: (message) => logs.push({ level: 'warn', message }),
      error: (message, error) => logs.push({ level: 'error', message, error }),
    },
    ...options.mfa,
  });
  const events: MfaEvent[] = [];
  auth.on('event', (e) => events.push(e));

  app.set('trust proxy', 'loopback');
  options.beforeSession?.(app, auth);
  if (options.formParser !== false) app.use(express.urlencoded({ extended: false }));
  app.use(
    session({
      secret: 'session-secret',
      resave: false,
      saveUninitialized: false,
      store: options.sessionStore,
    }),
  );
  app.use(authenticator.session());
  options.beforeLibrary?.(app);
  app.use(auth);
  // After the library: its API parses JSON itself and answers a malformed body with VALIDATION_FAILED.
  app.use(express.json());
  app.get('/login', (_req, res) => res.send('login page'));
  app.post('/login', auth.authenticate('local', { failureRedirect: '/login', failureMessage: true }));
  app.get('/', (req, res) => res.send(req.isAuthenticated() ? `home of ${(req.user as TestUser).username}` : 'home, signed out'));
  app.get('/account', auth.required(), (req, res) => res.send(`account of ${(req.user as TestUser).username}`));
  app.get('/plain', (req, res) => res.status(req.isAuthenticated() ? 200 : 401).send(req.isAuthenticated() ? 'plain ok' : 'plain refused'));
  app.get('/payees', auth.required({ maxAge: '5m' }), (_req, res) => res.send('payees page'));
  app.get('/api/me', auth.required(), (req, res) => res.json({ id: (req.user as TestUser).id }));
  app.post('/logout', (req, res, next) => req.logout((err) => (err ? next(err) : res.redirect('/'))));
  options.routes?.(app, auth, authenticator);
  return { app, auth, users, events, logs, passport: authenticator };
}

export type Agent = ReturnType<typeof request.agent>;

export function agent(app: express.Express): Agent {
  return request.agent(app);
}

/** The CSRF token of a page's forms. */
export function csrfOf(html: string): string {
  const match = /name="_mfa_csrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error(`no CSRF token in page:\n${html.slice(0, 500)}`);
  return match[1]!;
}

/** GETs a page and POSTs one of its forms with the page's CSRF token. */
export async function submit(a: Agent, page: string, action: string, fields: Record<string, string> = {}) {
  const html = (await a.get(page)).text;
  // As a browser would: every hidden token of the form, the app's own (csurf's _csrf) too when the page has one.
  const appToken = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
  return a.post(action).type('form').send({ _mfa_csrf: csrfOf(html), ...(appToken ? { _csrf: appToken } : {}), ...fields });
}

export async function login(a: Agent, username: string, password: string) {
  return a.post('/login').type('form').send({ username, password });
}

/** Signs a user on who has no device: pairs the profile email during sign-on. Returns the final response. */
export async function enrollAndSignOn(a: Agent, sink: SmtpSink, user: TestUser) {
  const after = sink.count();
  const res = await login(a, user.username, user.password);
  if (res.headers.location !== '/mfa/enroll') throw new Error(`expected enrollment, got ${res.status} ${res.headers.location}`);
  const sent = await submit(a, '/mfa/enroll', '/mfa/enroll', {});
  if (sent.status !== 303) throw new Error(`enroll POST answered ${sent.status}: ${sent.text}`);
  const mail = await sink.next(user.email!, { after });
  return submit(a, '/mfa/enroll', '/mfa/enroll/verify', { otp: codeOf(mail.text) });
}

/** Signs a user on who has a device: password, then the code from the mail. */
export async function signOn(a: Agent, sink: SmtpSink, user: TestUser, address = user.email!) {
  const after = sink.count();
  const res = await login(a, user.username, user.password);
  if (res.headers.location !== '/mfa/challenge') throw new Error(`expected a challenge, got ${res.status} ${res.headers.location}`);
  const mail = await sink.next(address, { after });
  return submit(a, '/mfa/challenge', '/mfa/challenge', { otp: codeOf(mail.text) });
}

/**
 * Signs a user on who has a device, ticking "Trust this browser" on the
 * challenge page (which must offer it). Returns the final response.
 */
export async function signOnTrusting(a: Agent, sink: SmtpSink, user: TestUser, address = user.email!) {
  const after = sink.count();
  const res = await login(a, user.username, user.password);
  if (res.headers.location !== '/mfa/challenge') throw new Error(`expected a challenge, got ${res.status} ${res.headers.location}`);
  const mail = await sink.next(address, { after });
  const page = (await a.get('/mfa/challenge')).text;
  if (!page.includes('name="trustBrowser" value="1"')) throw new Error('the challenge page offers no "Trust this browser"');
  return submit(a, '/mfa/challenge', '/mfa/challenge', { otp: codeOf(mail.text), trustBrowser: '1' });
}

/** The value of the mfa_trust cookie a response sets ('' when it clears it), or undefined. */
export function trustCookieOf(res: { headers: Record<string, unknown> }): string | undefined {
  const found = ([] as string[]).concat((res.headers['set-cookie'] as string[] | string | undefined) ?? []).find((c) => c.startsWith('mfa_trust='));
  return found === undefined ? undefined : found.slice('mfa_trust='.length).split(';')[0];
}

export function codeOf(text: string): string {
  const match = /\b(\d{6,10})\b/.exec(text);
  if (!match) throw new Error(`no code in: ${text}`);
  return match[1]!;
}
