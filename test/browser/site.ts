import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type express from 'express';
import type { Request, Response } from 'express';
import { createTestApp, type TestApp, type TestAppOptions, type TestUser } from '../helpers/app.js';
import { SmtpSink } from '../helpers/smtp.js';

/** The policy the library's pages must send (README: `contentSecurityPolicy`). */
export const CSP = "default-src 'self'; form-action 'self'; frame-ancestors 'none'";

/** The app's own pages: where the library sends people before and after its own pages. */
export const LOGIN_PATH = '/signin';
export const HOME_PATH = '/home';
/** A step-up route: its last MFA must be at most STEP_UP_MAX_AGE_MS old. */
export const STEP_UP_PATH = '/transfer';
export const STEP_UP_MAX_AGE_MS = 2000;

const escape = (value: string) =>
  value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The app's own stylesheet: the library's has no rule for password fields (it has none). */
const SITE_CSS = `input[type="password"] {
  width: 100%;
  padding: 10px 12px;
  font: inherit;
  border: 1px solid var(--mfa-border);
  border-radius: 6px;
  background: #fff;
  color: var(--mfa-text);
}
input[type="password"][aria-invalid="true"] { border-color: var(--mfa-danger); }
.site-links { padding-left: 20px; }
`;

/** An accessible HTML page of the app, under the same strict CSP as the library's pages. */
function page(res: Response, title: string, body: string, status = 200): void {
  res
    .status(status)
    .set('Content-Security-Policy', CSP)
    .set('Cache-Control', 'no-store')
    .type('html')
    .send(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)} · Acme</title>
<link rel="stylesheet" href="/mfa/assets/mfa.css">
<link rel="stylesheet" href="/site.css">
</head>
<body>
<main class="mfa-card">
<h1>${escape(title)}</h1>
${body}
</main>
</body>
</html>`);
}

function user(req: Request): TestUser {
  return req.user as TestUser;
}

const signOutForm = `<form method="post" action="/signout" class="mfa-inline mfa-cancel">
<button type="submit" class="mfa-secondary">Sign out</button>
</form>`;

/** Adds the app's HTML pages: a real login form, home, profile, a step-up route, sign-out. */
export function addSitePages(app: express.Express, auth: TestApp['auth']): void {
  app.get('/favicon.ico', (_req, res) => res.status(204).end());
  app.get('/site.css', (_req, res) => res.type('css').set('Cache-Control', 'no-store').send(SITE_CSS));

  app.get(LOGIN_PATH, (req, res) => {
    const bag = req.session as unknown as { messages?: string[] };
    const message = bag.messages?.at(-1);
    delete bag.messages;
    const invalid = message ? ' aria-invalid="true" aria-describedby="signin-error"' : '';
    page(
      res,
      'Sign on',
      `${message ? `<p class="mfa-error" role="alert" id="signin-error">${escape(message)}</p>\n` : ''}<form method="post" action="${LOGIN_PATH}" class="mfa-form">
<label for="username">Username</label>
<input id="username" name="username" type="text" autocomplete="username" required${invalid}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${invalid}>
<button type="submit" class="mfa-primary">Sign on</button>
</form>`,
      message ? 401 : 200,
    );
  });
  app.post(LOGIN_PATH, auth.authenticate('local', { failureRedirect: LOGIN_PATH, failureMessage: true }));

  app.get(HOME_PATH, auth.required(), (req, res) =>
    page(
      res,
      'Welcome',
      `<p>You are signed on as <strong>${escape(user(req).username)}</strong>.</p>
<ul class="site-links">
<li><a href="/profile">Your profile</a></li>
<li><a href="/mfa/devices">Your authentication methods</a></li>
<li><a href="${STEP_UP_PATH}">Payees</a></li>
</ul>
${signOutForm}`,
    ),
  );

  app.get('/profile', auth.required(), (req, res) =>
    page(
      res,
      'Your profile',
      `<p>Username: <strong>${escape(user(req).username)}</strong></p>
<p>Email: <strong>${escape(user(req).email ?? 'none')}</strong></p>
<p><a href="${HOME_PATH}">Home</a></p>
${signOutForm}`,
    ),
  );

  app.get(STEP_UP_PATH, auth.required({ maxAge: STEP_UP_MAX_AGE_MS }), (req, res) =>
    page(
      res,
      'Payees',
      `<p>${escape(user(req).username)} may add a payee here: this page asks for a code again when the last one is older than ${STEP_UP_MAX_AGE_MS / 1000} seconds.</p>
<p><a href="${HOME_PATH}">Home</a></p>`,
    ),
  );

  app.post('/signout', (req, res, next) => req.logout((err) => (err ? next(err) : res.redirect(303, LOGIN_PATH))));

  // A page that breaks the CSP and axe's rules on purpose: proves the tests would see both.
  app.get('/canary', (_req, res) =>
    res
      .set('Content-Security-Policy', CSP)
      .type('html')
      .send('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>canary</title></head><body><main><h1 style="color:red">canary</h1><input type="text" name="unlabelled"><script>document.title = "ran";</script></main></body></html>'),
  );
}

export interface Site {
  /** http://127.0.0.1:<port> */
  url: string;
  sink: SmtpSink;
  app: TestApp;
  close(): Promise<void>;
}

/** The test app with HTML pages of its own, listening on a free loopback port, mailing to a real SMTP sink. */
export async function startSite(mfa: TestAppOptions['mfa'] = {}): Promise<Site> {
  const sink = await SmtpSink.start();
  const app = createTestApp({
    sink,
    mfa: { loginPath: LOGIN_PATH, successRedirect: HOME_PATH, ...mfa },
    routes: (express, auth) => addSitePages(express, auth),
  });
  const server: Server = app.app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    sink,
    app,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await sink.close();
    },
  };
}
