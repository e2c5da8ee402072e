/**
 * The library in the apps people have: Passport's own route options, a
 * user the app signs on itself (auth.logIn), several instances in one
 * process, the app's own error handlers and CSRF middleware, and pages that
 * lead back into the app. Each case failed on the library before (say so
 * where it is not obvious).
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import session from 'express-session';
import defaultPassport from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mfa } from '../../src/index.js';
import { agent, codeOf, createTestApp, csrfOf, enrollAndSignOn, login, makeUsers, submit, type TestUser } from '../helpers/app.js';
import { SmtpSink } from '../helpers/smtp.js';
import { sessionCookie } from './support.js';

let sink: SmtpSink;
beforeAll(async () => {
  sink = await SmtpSink.start();
});
afterAll(async () => {
  await sink.close();
});

/** alice pairs her address during a first sign-on in a throw-away agent, so that her next sign-on is a challenge. */
async function withDevice(t: ReturnType<typeof createTestApp>) {
  expect((await enrollAndSignOn(agent(t.app), sink, t.users[0]!)).status).toBe(303);
}

async function answerChallenge(a: ReturnType<typeof agent>, address: string, after: number) {
  const code = codeOf((await sink.next(address, { after })).text);
  return submit(a, '/mfa/challenge', '/mfa/challenge', { otp: code });
}

describe("Passport's own options on auth.authenticate (failed before: the global successRedirect won)", () => {
  it('successRedirect: lands there once the code is answered, whatever returnTo says, as Passport does', async () => {
    const t = createTestApp({ sink, routes: (app, auth) => app.post('/login/welcome', auth.authenticate('local', { successRedirect: '/welcome' })) });
    await withDevice(t);
    const a = agent(t.app);
    await a.get('/account'); // sets returnTo
    const after = sink.count();
    expect((await a.post('/login/welcome').type('form').send({ username: 'alice', password: 'pw-alice' })).headers.location).toBe('/mfa/challenge');
    expect((await answerChallenge(a, 'alice@example.test', after)).headers.location).toBe('/welcome');
  });

  it('successReturnToOrRedirect: returnTo first, else the route\'s target; also when the policy skips MFA', async () => {
    const t = createTestApp({ sink, routes: (app, auth) => app.post('/login/dash', auth.authenticate('local', { successReturnToOrRedirect: '/dash' })) });
    await withDevice(t);
    const deep = agent(t.app);
    await deep.get('/account');
    let after = sink.count();
    await deep.post('/login/dash').type('form').send({ username: 'alice', password: 'pw-alice' });
    expect((await answerChallenge(deep, 'alice@example.test', after)).headers.location).toBe('/account');
    const plain = agent(t.app);
    after = sink.count();
    await plain.post('/login/dash').type('form').send({ username: 'alice', password: 'pw-alice' });
    expect((await answerChallenge(plain, 'alice@example.test', after)).headers.location).toBe('/dash');
    // root: the policy skips MFA, and the route's target still applies.
    expect((await agent(t.app).post('/login/dash').type('form').send({ username: 'root', password: 'pw-root' })).headers.location).toBe('/dash');
  });

  it('failWithError hands an AuthenticationError (401) to the app; failureFlash reaches req.flash; successMessage reaches req.session.messages', async () => {
    const flashed: Array<[string, string]> = [];
    const errors: unknown[] = [];
    const t = createTestApp({
      sink,
      routes: (app, auth) => {
        app.use((req, _res, next) => {
          (req as unknown as { flash: (type: string, message: string) => void }).flash = (type, message) => void flashed.push([type, message]);
          next();
        });
        app.post('/login/api', auth.authenticate('local', { failWithError: true }));
        app.post('/login/flash', auth.authenticate('local', { failureFlash: true, failureRedirect: '/login', successMessage: 'Welcome back.' }));
        app.get('/messages', (req, res) => res.json((req.session as unknown as { messages?: string[] }).messages ?? []));
        app.use((error: { name?: string; status?: number }, _req: Request, res: Response, _next: NextFunction) => {
          errors.push(error);
          res.status(error.status ?? 500).send(`app error ${error.name}`);
        });
      },
    });
    const failed = await request(t.app).post('/login/api').type('form').send({ username: 'alice', password: 'wrong' });
    expect(failed.status).toBe(401);
    expect(failed.text).toBe('app error AuthenticationError');
    expect(errors).toHaveLength(1);

    expect((await request(t.app).post('/login/flash').type('form').send({ username: 'alice', password: 'wrong' })).headers.location).toBe('/login');
    expect(flashed).toEqual([['error', 'Wrong username or password.']]);

    const a = agent(t.app);
    expect((await a.post('/login/flash').type('form').send({ username: 'root', password: 'pw-root' })).headers.location).toBe('/');
    expect((await a.get('/messages')).body).toEqual(['Welcome back.']);
  });

  it('warns once for an option that cannot apply before a second factor, and still works', async () => {
    const t = createTestApp({
      sink,
      routes: (app, auth) => {
        app.post('/login/a', auth.authenticate('local', { session: false }));
        app.post('/login/b', auth.authenticate('local', { session: false, assignProperty: 'account' }));
      },
    });
    const warnings = t.logs.filter((l) => l.level === 'warn' && /is ignored/.test(l.message)).map((l) => l.message);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/\{ session \}/);
    expect(warnings[1]).toMatch(/\{ assignProperty \}/);
    expect((await request(t.app).post('/login/a').type('form').send({ username: 'alice', password: 'pw-alice' })).headers.location).toBe('/mfa/enroll');
  });
});

describe('auth.logIn: a user the app signed on itself (failed before: there was no such call)', () => {
  function signUpApp(mfaOptions: Parameters<typeof createTestApp>[0]['mfa'] = {}) {
    const users = makeUsers();
    return createTestApp({
      sink,
      users,
      mfa: mfaOptions,
      routes: (app, auth) => {
        app.post('/signup', (req, res, next) => {
          const body = req.body as Record<string, string>;
          const user: TestUser = { id: `new-${users.length}`, username: body.username!, password: body.password!, email: body.email! };
          users.push(user);
          auth.logIn(req, res, user).catch(next);
        });
        app.post('/magic/:username', (req, res, next) => {
          auth.logIn(req, res, users.find((u) => u.username === req.params.username)!, { successRedirect: '/welcome' }).catch(next);
        });
      },
    });
  }

  it('sign-up: the new user pairs the profile address, then lands on the deep link, with a new session id at each step', async () => {
    const t = signUpApp();
    const a = agent(t.app);
    const first = await a.get('/account');
    const before = sessionCookie(first);
    const after = sink.count();
    const signedUp = await a.post('/signup').type('form').send({ username: 'carol', password: 'pw-carol', email: 'carol@example.test' });
    expect(signedUp.headers.location).toBe('/mfa/enroll');
    expect(sessionCookie(signedUp)).toBeDefined();
    expect(sessionCookie(signedUp)).not.toBe(before);
    expect((await a.get('/plain')).status).toBe(401);
    expect((await submit(a, '/mfa/enroll', '/mfa/enroll')).status).toBe(303);
    const code = codeOf((await sink.next('carol@example.test', { after })).text);
    const done = await submit(a, '/mfa/enroll', '/mfa/enroll/verify', { otp: code });
    expect(done.headers.location).toBe('/account');
    expect((await a.get('/account')).text).toBe('account of carol');
  });

  it('a user with a device is challenged; the policy may skip; options choose where to land', async () => {
    const t = signUpApp();
    await withDevice(t);
    const a = agent(t.app);
    const after = sink.count();
    expect((await a.post('/magic/alice')).headers.location).toBe('/mfa/challenge');
    expect((await answerChallenge(a, 'alice@example.test', after)).headers.location).toBe('/welcome');
    expect((await agent(t.app).post('/magic/root')).headers.location).toBe('/welcome');
  });

  it('a refusal of the policy is the library\'s page, not a rejection', async () => {
    const t = signUpApp({ policy: { skip: () => false, noDevice: 'deny' } });
    const res = await request(t.app).post('/magic/bob');
    expect(res.status).toBe(403);
    expect(res.text).toMatch(/no authentication method/i);
  });
});

describe('two mfa() instances in one process (failed before: the second answered the first one\'s codes against its own store)', () => {
  /** An app on the `passport` package's default instance, as most apps and test suites build them. */
  function appOnDefaultPassport(users: TestUser[]) {
    const app = express();
    defaultPassport.use('local', new LocalStrategy((username, password, done) => done(null, users.find((u) => u.username === username && u.password === password) ?? false)));
    defaultPassport.serializeUser((user, done) => done(null, (user as TestUser).id));
    defaultPassport.deserializeUser((id: string, done) => done(null, users.find((u) => u.id === id) ?? false));
    const auth = mfa<TestUser>({ secret: 'two-instances-secret-that-is-32-bytes!!', email: { transport: sink.transport() }, logger: { info() {}, warn() {}, error() {} } });
    app.use(express.urlencoded({ extended: false }));
    app.use(session({ secret: 's', resave: false, saveUninitialized: false }));
    app.use(defaultPassport.session());
    app.use(auth);
    app.post('/login', auth.authenticate('local'));
    app.get('/account', auth.required(), (req, res) => res.send(`account of ${(req.user as TestUser).username}`));
    return app;
  }

  it('each instance answers its own sign-ons, interleaved', async () => {
    const users = makeUsers();
    const first = appOnDefaultPassport(users);
    const second = appOnDefaultPassport(users);
    const [a, b] = [request.agent(first), request.agent(second)];
    for (const x of [a, b]) expect((await x.post('/login').type('form').send({ username: 'alice', password: 'pw-alice' })).headers.location).toBe('/mfa/enroll');
    let after = sink.count();
    await submit(a, '/mfa/enroll', '/mfa/enroll');
    const codeA = codeOf((await sink.next('alice@example.test', { after })).text);
    after = sink.count();
    await submit(b, '/mfa/enroll', '/mfa/enroll');
    const codeB = codeOf((await sink.next('alice@example.test', { after })).text);
    expect((await submit(a, '/mfa/enroll', '/mfa/enroll/verify', { otp: codeA })).headers.location).toBe('/');
    expect((await submit(b, '/mfa/enroll', '/mfa/enroll/verify', { otp: codeB })).headers.location).toBe('/');
    expect((await a.get('/account')).text).toBe('account of alice');
    expect((await b.get('/account')).text).toBe('account of alice');
  });
});

describe("auth.errorHandler() among the app's own handlers (failed before: every app error became the library's 503)", () => {
  it("mounted before the app's 404 and error handlers: the app's errors reach them; the library's own still get its page", async () => {
    const appErrors: string[] = [];
    const t = createTestApp({
      sink,
      mfa: { policy: { skip: () => false, noDevice: 'deny' } },
      routes: (app, auth) => {
        app.get('/favicon.ico', (_req, _res, next) => next(Object.assign(new Error('Not Found'), { status: 404 })));
        app.post('/transfer', (_req, _res, next) => next(Object.assign(new Error('invalid csrf token'), { status: 403, code: 'EBADCSRFTOKEN' })));
        app.get('/crash', () => {
          throw new Error('a bug of the app');
        });
        app.post('/magic', (req, res, next) => auth.logIn(req, res, t.users[1]!).catch(next));
        app.use(auth.errorHandler());
        app.use((_req, res) => void res.status(404).send('app: not found'));
        app.use((error: Error & { status?: number }, _req: Request, res: Response, _next: NextFunction) => {
          appErrors.push(error.message);
          res.status(error.status ?? 500).send(`app error: ${error.message}`);
        });
      },
    });
    expect((await request(t.app).get('/nothing-here')).text).toBe('app: not found');
    expect((await request(t.app).get('/favicon.ico')).status).toBe(404);
    const csrf = await request(t.app).post('/transfer');
    expect(csrf.status).toBe(403);
    expect(csrf.text).toBe('app error: invalid csrf token');
    const crash = await request(t.app).get('/crash');
    expect(crash.status).toBe(500);
    expect(crash.headers['retry-after']).toBeUndefined();
    expect(appErrors).toEqual(['Not Found', 'invalid csrf token', 'a bug of the app']);
    expect(t.logs.filter((l) => l.level === 'error')).toEqual([]);
    const denied = await request(t.app).post('/magic');
    expect(denied.status).toBe(403);
    expect(denied.text).toMatch(/no authentication method/i);
  });
});

/** A csurf-like check of the app's own: `_csrf` in the body, req.csrfToken() for its forms. */
function appCsrf() {
  return (req: Request, res: Response, next: NextFunction) => {
    const bag = req.session as unknown as { appToken?: string };
    bag.appToken ??= `app-${Math.random().toString(36).slice(2)}`;
    (req as unknown as { csrfToken: () => string }).csrfToken = () => bag.appToken!;
    // The test's own password step is not what this is about; the library's forms and the app's sign-out are.
    if (req.method === 'POST' && req.path !== '/login' && (req.body as Record<string, unknown>)?._csrf !== bag.appToken) {
      res.status(403).send('app: invalid csrf token');
      return;
    }
    next();
  };
}

describe("the app's own CSRF middleware (failed before: both used _csrf, and the app's refused the library's forms)", () => {
  for (const order of ['after app.use(auth)', 'before app.use(auth)'] as const) {
    it(`mounted ${order}: pairing, sign-on and sign-out from the library's page all work`, async () => {
      const users = makeUsers();
      const t = createTestApp({
        sink,
        users,
        mfa: { signOutPath: '/logout' },
        beforeLibrary: order === 'before app.use(auth)' ? (app) => app.use(appCsrf()) : undefined,
        routes: (app) => {
          if (order === 'after app.use(auth)') app.use(appCsrf());
          app.post('/app-logout-check', (_req, res) => void res.send('app form ok'));
        },
      });
      const a = agent(t.app);
      expect((await enrollAndSignOn(a, sink, users[0]!)).headers.location).toBe('/');
      const page = (await a.get('/mfa/devices')).text;
      expect(page).toContain('name="_mfa_csrf"');
      expect(page).toContain('action="/logout"');
      if (order === 'before app.use(auth)') {
        // The library's forms carry the app's token too, so the sign-out button passes the app's check.
        const appToken = /name="_csrf" value="([^"]+)"/.exec(page)![1]!;
        expect((await a.post('/logout').type('form').send({ _csrf: appToken })).status).toBe(302);
        expect((await a.get('/plain')).status).toBe(401);
      } else {
        expect(page).not.toContain('name="_csrf"');
      }
      expect(csrfOf(page)).toBeTruthy();
    });
  }
});

describe('pages lead back into the app (failed before: the devices page was a dead end)', () => {
  it('every page links to the app\'s home; a signed-on user gets the sign-out button when the app names its route', async () => {
    const t = createTestApp({ sink, mfa: { homePath: '/dashboard', signOutPath: '/logout' } });
    const a = agent(t.app);
    await login(a, 'alice', 'pw-alice');
    const enroll = (await a.get('/mfa/enroll')).text;
    expect(enroll).toContain('href="/dashboard"');
    expect(enroll).not.toContain('action="/logout"');
    const after = sink.count();
    await submit(a, '/mfa/enroll', '/mfa/enroll');
    const code = codeOf((await sink.next('alice@example.test', { after })).text);
    await submit(a, '/mfa/enroll', '/mfa/enroll/verify', { otp: code });
    for (const path of ['/mfa/devices', '/mfa/devices/add']) {
      const html = (await a.get(path)).text;
      expect(html, path).toContain('href="/dashboard"');
      expect(html, path).toMatch(/<form method="post" action="\/logout"[^>]*>.*Sign out/s);
    }
    const plain = createTestApp({ sink });
    const b = agent(plain.app);
    await enrollAndSignOn(b, sink, plain.users[0]!);
    const html = (await b.get('/mfa/devices')).text;
    expect(html).toContain('href="/"');
    expect(html).not.toContain('Sign out');
  });
});

describe('a user without an email address (failed before: the log said nothing)', () => {
  it('logs once what to configure', async () => {
    const t = createTestApp({ sink });
    for (let i = 0; i < 2; i++) {
      const a = agent(t.app);
      await login(a, 'nomail', 'pw-nomail');
      expect((await a.get('/mfa/enroll')).status).toBe(403);
    }
    const warnings = t.logs.filter((l) => l.level === 'warn' && /user\.email/.test(l.message));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toMatch(/user: \{ email: \(u\) => u\.yourEmailField \}/);
  });
});
