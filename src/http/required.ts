import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { parseDuration, type Duration } from '../duration.js';
import { MfaRequiredError } from '../core/errors.js';
import { wantsJson } from './context.js';
import type { HttpDeps } from './deps.js';
import { safeReturnTo } from './return-to.js';
import { livePending, readState, sessionBag, writeState, type SignedOn } from './session-state.js';

export interface RequiredOptions {
  /** The last MFA must be at most this old, or the user answers a fresh code first (step-up). */
  maxAge?: Duration;
}

/** The record of a satisfied sign-on for the user Passport has, or undefined. */
export function signedOn<User>(deps: HttpDeps<User>, req: Request): SignedOn | undefined {
  const auth = readState(req)?.auth;
  return auth !== undefined && req.user !== undefined && req.user !== null && deps.options.user.id(req.user as User) === auth.userId
    ? auth
    : undefined;
}

export function mfaIsFresh(deps: HttpDeps, auth: SignedOn, maxAgeMs: number): boolean {
  return auth.mfaAt !== null && deps.now() - auth.mfaAt <= maxAgeMs;
}

/**
 * Sends a signed-on user through a fresh challenge, then back to `returnTo`.
 * JSON clients get 401 with code MFA_REQUIRED instead.
 */
export function demandStepUp(deps: HttpDeps, req: Request, res: Response, returnTo: string): void {
  if (wantsJson(req)) {
    const error = new MfaRequiredError();
    res.status(401).json({ code: error.code, message: error.message, details: { challenge: `${deps.options.basePath}/challenge` } });
    return;
  }
  const state = writeState(req);
  const target = safeReturnTo(returnTo) ?? deps.options.successRedirect;
  // A reload mid step-up keeps the code already sent.
  if (state.stepUp) state.stepUp.returnTo = target;
  else state.stepUp = { returnTo: target };
  res.redirect(303, `${deps.options.basePath}/challenge`);
}

/** Where a POST that cannot be replayed comes back to: the page it was sent from, when that is ours. */
function comeBackTo(req: Request): string {
  if (req.method === 'GET' || req.method === 'HEAD') return req.originalUrl;
  const referer = req.get('referer');
  if (referer) {
    try {
      const url = new URL(referer);
      if (url.host === req.get('host')) return url.pathname + url.search;
    } catch {
      // an unparsable Referer is simply not used
    }
  }
  return '/';
}

export function required<User>(deps: HttpDeps<User>, options: RequiredOptions = {}): RequestHandler {
  const maxAgeMs = options.maxAge === undefined ? undefined : parseDuration(options.maxAge);
  if (maxAgeMs === undefined && options.maxAge !== undefined) {
    throw new TypeError(`express-mfa: required({ maxAge }) must be milliseconds or a string such as '5m'; got ${JSON.stringify(options.maxAge)}.`);
  }
  const { basePath, loginPath } = deps.options;

  return function mfaRequired(req: Request, res: Response, next: NextFunction): void {
    const auth = signedOn(deps, req);
    if (auth !== undefined) {
      if (maxAgeMs === undefined || mfaIsFresh(deps, auth, maxAgeMs)) return next();
      return demandStepUp(deps, req, res, comeBackTo(req));
    }
    if (wantsJson(req)) {
      res.status(401).json({ code: 'UNAUTHENTICATED', message: 'Sign on first.' });
      return;
    }
    const pending = livePending(req, deps.now());
    if (pending) return res.redirect(303, `${basePath}/${pending.stage === 'enroll' ? 'enroll' : 'challenge'}`);
    const bag = sessionBag(req);
    if (bag && (req.method === 'GET' || req.method === 'HEAD')) bag.returnTo = req.originalUrl;
    res.redirect(303, loginPath);
  };
}
