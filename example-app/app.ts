import { randomBytes } from 'node:crypto';
import express, { type Request } from 'express';
import session from 'express-session';
import passport from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import { mfa, type Logger, type MfaOptions } from '../src/index.js';
import { CSRF_FIELD, csrfAllows, csrfToken } from './csrf.js';

export interface DemoUser {
  id: string;
  username: string;
  password: string;
  email: string;
  admin: boolean;
}

/** Two demo users: alice pairs her email at first sign-on, admin skips MFA by policy. */
export const USERS: DemoUser[] = [
  { id: '1', username: 'alice', password: 'alice-password', email: 'alice@example.test', admin: false },
  { id: '2', username: 'admin', password: 'admin-password', email: 'admin@example.test', admin: true },
];

export interface ExampleOptions {
  sessionStore?: session.Store;
  mfa?: Partial<MfaOptions<DemoUser>>;
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escape(title)}</title><link rel="stylesheet" href="/mfa/assets/mfa.css"></head><body><main class="mfa-card"><h1>${escape(title)}</h1>${body}</main></body></html>`;
}

/** The hidden field of the app's own forms. */
const csrfField = (req: Request) => `<input type="hidden" name="${CSRF_FIELD}" value="${escape(csrfToken(req))}">`;

/**
 * The key that signs the session cookie: SESSION_SECRET, which production
 * must set (a key in the source would let anyone forge cookies); in
 * development a random one, so sessions end when the process does.
 */
function sessionSecret(logger: Pick<Logger, 'warn'>): string {
  const secret = process.env.SESSION_SECRET;
  if (secret) return secret;
  if (process.env.NODE_ENV === 'production') {
    throw new Error('example-app: SESSION_SECRET is not set. With NODE_ENV=production, set it to 32 or more random bytes: it signs the session cookie.');
  }
  logger.warn('example-app: no SESSION_SECRET: using a random one for this process, so sessions end when it stops. Set SESSION_SECRET to keep them.');
  return randomBytes(32).toString('base64url');
}

export function createExampleApp(options: ExampleOptions = {}) {
  const secret = sessionSecret(options.mfa?.logger ?? console);
  const app = express();
  const authenticator = new passport.Passport();

  authenticator.use(
    new LocalStrategy((username, password, done) => {
      const user = USERS.find((u) => u.username === username && u.password === password);
      done(null, user ?? false, user ? undefined : { message: 'Wrong username or password.' });
    }),
  );
  authenticator.serializeUser((user, done) => done(null, (user as DemoUser).id));
  authenticator.deserializeUser((id: string, done) => done(null, USERS.find((u) => u.id === id) ?? false));

  const auth = mfa<DemoUser>({
    passport: authenticator,
    user: { id: (u) => u.id, email: (u) => u.email },
    policy: { skip: (user) => user.admin },
    ...options.mfa,
  });

  // First: a flood of writes to /mfa is refused before the body is parsed or the session read.
  app.use(auth.rateLimit);
  app.use(express.urlencoded({ extended: false }));
  app.use(
    session({
      name: 'example.sid',
      secret,
      resave: false,
      saveUninitialized: false,
      store: options.sessionStore,
      cookie: { httpOnly: true, sameSite: 'lax' },
    }),
  );
  app.use(authenticator.session());
  app.use(auth);
  // After app.use(auth): the library's pages under /mfa are answered before this, and check their own _mfa_csrf field.
  app.use((req, res, next) => {
    if (csrfAllows(req)) return next();
    res.status(403).send(page('Please try again', '<p class="mfa-error" role="alert">This form has expired.</p><p><a href="/login">Reload the sign-on page</a> and try again.</p>'));
  });

  app.get('/', (req, res) => {
    const user = req.user as DemoUser | undefined;
    res.send(
      user
        ? page(`Hello, ${user.username}`, `<p>You are signed on.</p><p><a href="/account">Your account</a></p><p><a href="/mfa/devices">Your authentication methods</a></p><p><a href="/transfer">Make a transfer</a> (asks for a fresh code after 5 minutes)</p><form method="post" action="/logout">${csrfField(req)}<button class="mfa-secondary" type="submit">Sign out</button></form>`)
        : page('express-mfa example', '<p><a class="mfa-button" href="/login">Sign on</a></p>'),
    );
  });

  app.get('/login', (req, res) => {
    const messages = ((req.session as unknown as { messages?: string[] }).messages ?? []).splice(0);
    res.send(
      page(
        'Sign on',
        `${messages.map((m) => `<p class="mfa-error" role="alert">${escape(m)}</p>`).join('')}
        <form method="post" action="/login">
          ${csrfField(req)}
          <label for="username">Username</label><input id="username" name="username" type="text" autocomplete="username" required>
          <label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
          <button class="mfa-primary" type="submit">Sign on</button>
        </form>
        <p class="mfa-help">Try alice / alice-password (pairs her email, then answers a code) or admin / admin-password (the policy skips MFA).</p>`,
      ),
    );
  });

  app.post('/login', auth.authenticate('local', { failureRedirect: '/login', failureMessage: true }));

  app.get('/account', auth.required(), (req, res) => {
    const user = req.user as DemoUser;
    res.send(page('Your account', `<p>Signed on as ${escape(user.username)} (${escape(user.email)}).</p><p><a href="/">Home</a></p>`));
  });

  app.get('/transfer', auth.required({ maxAge: '5m' }), (_req, res) => {
    res.send(page('Make a transfer', '<p>You confirmed it is you within the last 5 minutes.</p><p><a href="/">Home</a></p>'));
  });

  app.post('/logout', (req, res, next) => {
    req.logout((err) => (err ? next(err) : res.redirect('/')));
  });

  app.use(auth.errorHandler());

  return { app, auth, passport: authenticator };
}
