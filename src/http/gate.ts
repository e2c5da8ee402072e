import type { Request } from 'express';
import { DEFAULT_POLICY } from '../config/defaults.js';
import type { HttpDeps } from './deps.js';
import { readState, regenerateSession, sessionBag, writeState } from './session-state.js';

/**
 * What the gate decided: undefined when the request goes on as it is (the
 * common case, answered without allocating anything), an Error for a
 * misconfigured app, or a promise while a login is taken back.
 */
export type GateOutcome = undefined | Error | Promise<void>;

/**
 * Runs on every request: a session that Passport logged in without this
 * library's record of a satisfied policy (a route that called
 * passport.authenticate or req.logIn itself) becomes a pending sign-on again.
 * It reads the session only; the store is never touched here.
 */
export function gate<User>(deps: HttpDeps<User>): (req: Request) => GateOutcome {
  const { options, passport, now } = deps;
  const key = (passport as { _key?: string })._key ?? 'passport';
  const id = options.user.id;

  return function mfaGate(req: Request): GateOutcome {
    const bag = sessionBag(req);
    const login = bag?.[key] as { user?: unknown } | undefined;
    const state = readState(req);
    if (login?.user === undefined) {
      // A record outlives its login only by mistake (a logout with keepSessionInfo): it must vouch for no later login.
      if (state?.auth !== undefined || state?.stepUp !== undefined) {
        delete state.auth;
        delete state.stepUp;
      }
      return undefined;
    }
    const user = req.user;
    if (user === undefined) {
      return new Error('express-mfa: the session has a Passport login but req.user is not set; mount app.use(auth) after app.use(passport.session()).');
    }
    const userId = id(user as User);
    if (state?.auth !== undefined && state.auth.userId === userId) return undefined;

    req.user = undefined;
    // The login's session id may be one the browser was given by someone else; the pending sign-on gets a new one.
    return regenerateSession(req).then(() => {
      writeState(req).pending = {
        ref: login.user,
        userId,
        // Whatever policy an earlier user of this browser signed on under, the taken-back login gets the default one.
        policy: DEFAULT_POLICY,
        startedAt: now(),
        stage: 'decide',
        profileEmail: options.user.email(user as User) ?? null,
      };
      options.logger.warn(
        `user ${userId} was logged in without the sign-on policy; the login is now a pending sign-on. Sign users on with auth.authenticate() or auth.logIn(), not passport.authenticate() or req.login().`,
      );
    });
  };
}
