import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { HttpDeps } from './deps.js';
import { chooseLocale } from './locale.js';
import { sessionBag } from './session-state.js';
import type { SignOnFlow } from './signon.js';

export interface AuthenticateOptions {
  /** A named policy from options.policies. Default: the default policy. */
  policy?: string;
  /** Where to send a failed first step. Without it, a failure answers 401. */
  failureRedirect?: string;
  /** true keeps the strategy's message, a string replaces it, in req.session.messages (Passport's convention). */
  failureMessage?: boolean | string;
  /** Anything else is handed to the first strategy, as passport.authenticate would. */
  [option: string]: unknown;
}

/**
 * auth.authenticate(strategy, options): runs the app's first strategy
 * (passport-local, say) without logging in, then lets the sign-on policy
 * decide what comes next.
 */
export function authenticate<User>(
  deps: HttpDeps<User>,
  flow: SignOnFlow<User>,
  strategy: string | string[],
  options: AuthenticateOptions = {},
): RequestHandler {
  const { policy = 'default', failureRedirect, failureMessage, ...strategyOptions } = options;
  if (!deps.options.policies.has(policy)) {
    throw new TypeError(`express-mfa: authenticate(…, { policy: '${policy}' }) names no policy; known policies: ${[...deps.options.policies.keys()].join(', ')}.`);
  }

  return function mfaAuthenticate(req: Request, res: Response, next: NextFunction): void {
    const callback = (err: unknown, user: User | false, info?: { message?: string } | string) => {
      if (err) return next(err);
      if (!user) {
        if (failureMessage) {
          const message = typeof failureMessage === 'string' ? failureMessage : typeof info === 'string' ? info : info?.message;
          const bag = sessionBag(req);
          if (bag && message) bag.messages = [...((bag.messages as string[] | undefined) ?? []), message];
        }
        if (failureRedirect) return res.redirect(303, failureRedirect);
        res.status(401).send('Unauthorized');
        return;
      }
      chooseLocale(req, deps.translator, deps.options.locale, user);
      flow.begin(req, res, user, policy).catch((error) => deps.pages.error(req, res, error));
    };
    deps.passport.authenticate(strategy, { ...strategyOptions, session: false }, callback)(req, res, next);
  };
}
