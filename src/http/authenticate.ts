import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { HttpDeps } from './deps.js';
import { chooseLocale } from './locale.js';
import { sessionBag, type Landing } from './session-state.js';
import type { SignOnFlow } from './signon.js';

export interface AuthenticateOptions {
  /** A named policy from options.policies. Default: the default policy. */
  policy?: string;
  /** Where the user lands once the sign-on completes, returnTo or not (Passport's successRedirect). */
  successRedirect?: string;
  /** Where the user lands once the sign-on completes when the session has no returnTo. */
  successReturnToOrRedirect?: string;
  /** true keeps the strategy's message, a string replaces it, in req.session.messages once signed on. */
  successMessage?: boolean | string;
  /** true, a string or { type, message }: given to req.flash once signed on (connect-flash). */
  successFlash?: boolean | string | { type?: string; message?: string };
  /** Where to send a failed first step. Without it, a failure answers 401. */
  failureRedirect?: string;
  /** true keeps the strategy's message, a string replaces it, in req.session.messages (Passport's convention). */
  failureMessage?: boolean | string;
  /** true, a string or { type, message }: given to req.flash('error', …) on failure (connect-flash). */
  failureFlash?: boolean | string | { type?: string; message?: string };
  /** A failed first step calls next() with an AuthenticationError (status 401), for the app's error handler. */
  failWithError?: boolean;
  /** Anything else is handed to the first strategy, as passport.authenticate would. */
  [option: string]: unknown;
}

/** Passport's own options that make no sense before a second factor; they are refused with a warning, once. */
const NOT_HONOURED: Record<string, string> = {
  session: 'the sign-on always lives in the session (the second factor needs it)',
  assignProperty: 'a user who has not answered the second factor is never handed to the route',
  keepSessionInfo: 'only returnTo survives the new session ids of the password step and the sign-on',
  authInfo: 'req.authInfo is not set after the second factor',
};

const PASSPORT_OPTIONS = new Set([
  'policy', 'successRedirect', 'successReturnToOrRedirect', 'successMessage', 'successFlash',
  'failureRedirect', 'failureMessage', 'failureFlash', 'failWithError', ...Object.keys(NOT_HONOURED),
]);

/** Passport's own error for a failed authentication with failWithError. */
export class AuthenticationError extends Error {
  readonly status = 401;
  constructor() {
    super('Unauthorized');
    this.name = 'AuthenticationError';
  }
}

type Info = { message?: string; type?: string } | string | undefined;

function infoMessage(info: Info): string | undefined {
  return typeof info === 'string' ? info : info?.message;
}

/** Passport's reading of a flash option: true takes the strategy's message, a string is the message, an object both. */
function flashOf(option: AuthenticateOptions['failureFlash'], info: Info, fallbackType: string): { type: string; message: string } | undefined {
  if (!option) return undefined;
  const given = typeof option === 'object' ? option : typeof option === 'string' ? { message: option } : {};
  const message = given.message ?? infoMessage(info);
  const type = given.type ?? (typeof info === 'object' ? info.type : undefined) ?? fallbackType;
  return message ? { type, message } : undefined;
}

/** The checks of the route options that Passport reads, made when the route is built. */
export function routeLanding(options: Pick<AuthenticateOptions, 'successRedirect' | 'successReturnToOrRedirect'>, where: string): Landing | undefined {
  for (const key of ['successRedirect', 'successReturnToOrRedirect'] as const) {
    const value = options[key];
    if (value !== undefined && (typeof value !== 'string' || value === '')) throw new TypeError(`express-mfa: ${where}({ ${key} }) must be a URL or path string; got ${JSON.stringify(value)}.`);
  }
  if (options.successRedirect !== undefined) return { redirect: options.successRedirect };
  if (options.successReturnToOrRedirect !== undefined) return { redirect: options.successReturnToOrRedirect, returnToFirst: true };
  return undefined;
}

/**
 * auth.authenticate(strategy, options): runs the app's first strategy
 * (passport-local, say) without logging in, then lets the sign-on policy
 * decide what comes next. Passport's own options keep their meaning.
 */
export function authenticate<User>(
  deps: HttpDeps<User>,
  flow: SignOnFlow<User>,
  strategy: string | string[],
  options: AuthenticateOptions = {},
): RequestHandler {
  const { policy = 'default', failureRedirect, failureMessage, failureFlash, failWithError, successMessage, successFlash } = options;
  if (!deps.options.policies.has(policy)) {
    throw new TypeError(`express-mfa: authenticate(…, { policy: '${policy}' }) names no policy; known policies: ${[...deps.options.policies.keys()].join(', ')}.`);
  }
  const routeOptions = routeLanding(options, 'authenticate');
  for (const key of Object.keys(options)) {
    if (key in NOT_HONOURED) deps.warnOnce(`authenticate:${key}`, `auth.authenticate(…, { ${key} }) is ignored: ${NOT_HONOURED[key]}.`);
  }
  const strategyOptions = Object.fromEntries(Object.entries(options).filter(([key]) => !PASSPORT_OPTIONS.has(key)));

  return function mfaAuthenticate(req: Request, res: Response, next: NextFunction): void {
    const flash = (message: { type: string; message: string } | undefined) => {
      if (!message) return;
      const give = (req as unknown as { flash?: (type: string, message: string) => void }).flash;
      if (typeof give === 'function') give.call(req, message.type, message.message);
      else deps.warnOnce('flash', 'a flash option was given but req.flash is missing: mount connect-flash (or another flash middleware) before the route.');
    };
    const callback = (err: unknown, user: User | false, info?: Info) => {
      if (err) return next(err);
      if (!user) {
        if (failureMessage) {
          const message = typeof failureMessage === 'string' ? failureMessage : infoMessage(info);
          const bag = sessionBag(req);
          if (bag && message) bag.messages = [...((bag.messages as string[] | undefined) ?? []), message];
        }
        flash(flashOf(failureFlash, info, 'error'));
        if (failureRedirect) return res.redirect(303, failureRedirect);
        if (failWithError) return next(new AuthenticationError());
        res.status(401).send('Unauthorized');
        return;
      }
      chooseLocale(req, deps.translator, deps.options.locale, user);
      const landing: Landing = { ...routeOptions };
      const message = typeof successMessage === 'string' ? successMessage : successMessage ? infoMessage(info) : undefined;
      if (message) landing.message = message;
      const flashed = flashOf(successFlash, info, 'success');
      if (flashed) landing.flash = flashed;
      flow.begin(req, res, user, policy, Object.keys(landing).length > 0 ? landing : undefined).catch((error) => deps.pages.error(req, res, error));
    };
    deps.passport.authenticate(strategy, { ...strategyOptions, session: false }, callback)(req, res, next);
  };
}
