import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { HttpDeps } from './deps.js';
import { readState, sessionBag, writeState } from './session-state.js';

/**
 * Runs on every request: a session that Passport logged in without this
 * library's record of a satisfied policy (a route that called
 * passport.authenticate or req.logIn itself) becomes a pending sign-on again.
 * It reads the session only; the store is never touched here.
 */
export function gate<User>(deps: HttpDeps<User>): RequestHandler {
  const { options, passport, now } = deps;
  const key = (passport as { _key?: string })._key ?? 'passport';
  const id = options.user.id;

  return function mfaGate(req: Request, _res: Response, next: NextFunction): void {
    const login = sessionBag(req)?.[key] as { user?: unknown } | undefined;
    if (login?.user === undefined) return next();
    const user = req.user;
    if (user === undefined) {
      return next(new Error('express-mfa: the session has a Passport login but req.user is not set; mount app.use(auth) after app.use(passport.session()).'));
    }
    const auth = readState(req)?.auth;
    const userId = id(user as User);
    if (auth !== undefined && auth.userId === userId) return next();

    const state = writeState(req);
    state.pending = {
      ref: login.user,
      userId,
      policy: auth?.policy ?? 'default',
      startedAt: now(),
      stage: 'decide',
      profileEmail: options.user.email?.(user as User) ?? null,
    };
    delete state.auth;
    delete state.stepUp;
    delete login.user;
    req.user = undefined;
    options.logger.warn(
      `user ${userId} was logged in without the sign-on policy; the login is now a pending sign-on. Sign users on with auth.authenticate(), not passport.authenticate().`,
    );
    next();
  };
}
