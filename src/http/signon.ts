import type { Request, Response } from 'express';
import { NoDeviceError } from '../core/errors.js';
import { evaluatePolicy } from '../core/policy.js';
import { RECOVERY } from '../methods/recovery/codes.js';
import { requestContext } from './context.js';
import type { HttpDeps } from './deps.js';
import { safeReturnTo } from './return-to.js';
import { userAgentLabel } from './user-agent-label.js';
import { csrfToken } from './csrf.js';
import {
  deviceChoice,
  regenerateSession,
  SESSION_KEY,
  sessionBag,
  writeState,
  type Landing,
  type MfaSessionState,
  type PendingSignOn,
  type SignedOn,
} from './session-state.js';

type LogIn = (user: unknown, options: { keepSessionInfo: boolean }, done: (err?: unknown) => void) => void;

/** The sign-on flow around the app's Passport: from the password step to req.logIn. */
export class SignOnFlow<User> {
  constructor(private readonly deps: HttpDeps<User>) {}

  serialize(user: User, req: Request): Promise<unknown> {
    return new Promise((resolve, reject) =>
      this.deps.passport.serializeUser(user, req, (err, ref) => (err ? reject(err) : resolve(ref))),
    );
  }

  deserialize(ref: unknown, req: Request): Promise<User | null> {
    return new Promise((resolve, reject) =>
      this.deps.passport.deserializeUser(ref, req, (err, user) => (err ? reject(err) : resolve((user || null) as User | null))),
    );
  }

  userId(user: User): string {
    const id = this.deps.options.user.id(user);
    if (typeof id !== 'string' || id === '') throw new TypeError('express-mfa: options.user.id(user) must return a non-empty string.');
    return id;
  }

  /**
   * After the first factor: applies the policy and either logs the user in,
   * or makes a pending sign-on and sends the user to answer or pair a device.
   */
  async begin(req: Request, res: Response, user: User, policyName: string, landing?: Landing): Promise<void> {
    const { options, devices, authentications, methods, events, now } = this.deps;
    const policy = options.policies.get(policyName)!;
    const userId = this.userId(user);
    const context = requestContext(req);
    const decision = await evaluatePolicy(policy, {
      user,
      userId,
      ip: req.ip,
      request: req,
      trusted: () => this.trustedBrowser(req, res, userId),
      // Only devices of methods that are on: one of a disabled method neither answers nor counts as paired.
      devices: async () => (await devices.records(userId)).filter((d) => methods.get(d.type) !== undefined),
    });
    if (decision.action === 'skip') {
      return this.complete(req, res, user, { userId, amr: ['pwd'], policy: policy.name, mfaAt: null }, decision.reason, landing);
    }
    if (decision.action === 'deny') {
      events.publish('signon.refused', userId, context, { reason: 'NO_DEVICE' });
      throw new NoDeviceError();
    }
    const pending: PendingSignOn = {
      ref: await this.serialize(user, req),
      userId,
      policy: policy.name,
      startedAt: now(),
      stage: decision.action,
      profileEmail: options.user.email(user) ?? null,
      ...(landing ? { landing } : {}),
    };
    // A new session id before the pending sign-on is written: it must never sit under an id planted in the browser.
    await regenerateSession(req);
    const state = writeState(req);
    state.pending = pending;
    // Made now, while the session is written anyway, so that showing the next page writes nothing.
    csrfToken(req);
    if (decision.action === 'challenge') {
      pending.devices = decision.devices.map((d) => deviceChoice(methods, d));
      pending.recoveryCodes = policy.methods.includes(RECOVERY) ? await this.deps.recovery.remaining(userId) : 0;
      // 'prompt': a user with several methods picks one on the challenge page before anything is sent.
      if (policy.deviceSelection === 'default' || decision.devices.length === 1) {
        pending.deviceId = decision.device.id;
        try {
          const prompt = await authentications.start(decision.device, 'signon', policy.methods, context);
          pending.challengeId = prompt.challengeId;
          if (prompt.options) pending.options = prompt.options;
        } catch (error) {
          this.deps.pages.logCause(req, error);
          state.flash = { error: this.deps.pages.note(error) };
        }
      }
    }
    res.redirect(303, `${options.basePath}/${decision.action === 'challenge' ? 'challenge' : 'enroll'}`);
  }

  /**
   * Whether the browser is one this user trusts: a well-formed cookie signed
   * for this user, whose token the store takes (and rotates: the new cookie
   * is set). An unknown or old token clears the cookie. Without a well-formed
   * cookie signed for the user, nothing is read from the store.
   */
  private async trustedBrowser(req: Request, res: Response, userId: string): Promise<boolean> {
    const { trusted, trustCookie, now } = this.deps;
    const cookie = trustCookie.read(req, userId);
    if (!cookie) return false;
    const used = await trusted.use(userId, cookie.id, cookie.token, requestContext(req));
    if (!used) {
      trustCookie.clear(req, res);
      return false;
    }
    trustCookie.set(req, res, userId, cookie.id, used.token, used.expiresAt, now());
    return true;
  }

  /**
   * Logs the user in through Passport once the policy is satisfied. The
   * session id changes; on a new sign-on only returnTo survives from the old
   * session (never the pending sign-on), on a step-up everything does.
   */
  async complete(req: Request, res: Response, user: User, signedOn: SignedOn, reason: string, landing?: Landing, trust = false): Promise<void> {
    const { options, events, trusted, trustCookie, now } = this.deps;
    const policy = options.policies.get(signedOn.policy);
    // "Trust this browser", ticked on a sign-on that answered MFA. Before the login: a store that fails signs no one on.
    // On `res`, which outlives the session that req.logIn regenerates.
    if (trust && signedOn.mfaAt !== null && policy && policy.trustBrowserMs !== false) {
      const label = userAgentLabel(req.get('user-agent'));
      const made = await trusted.trust(signedOn.userId, label, policy.trustBrowserMs, requestContext(req));
      trustCookie.set(req, res, signedOn.userId, made.id, made.token, made.expiresAt, now());
    }
    const returnTo = await this.establish(req, user, signedOn);
    events.publish('signon.completed', signedOn.userId, requestContext(req), { amr: signedOn.amr, reason });
    if (landing?.message) {
      const bag = sessionBag(req)!;
      bag.messages = [...((bag.messages as string[] | undefined) ?? []), landing.message];
    }
    if (landing?.flash) (req as unknown as { flash?: (type: string, message: string) => void }).flash?.(landing.flash.type, landing.flash.message);
    // As Passport: successRedirect goes where it says; successReturnToOrRedirect and the default prefer returnTo.
    const target = landing?.redirect !== undefined && !landing.returnToFirst ? landing.redirect : safeReturnTo(returnTo) ?? landing?.redirect ?? options.successRedirect;
    res.redirect(303, target);
  }

  /** A fresh MFA of a signed-on user through the API: recorded, with a new session id, and no redirect. */
  async recordStepUp(req: Request, user: User, signedOn: SignedOn): Promise<void> {
    writeState(req).auth = signedOn;
    await this.logIn(req, user);
  }

  /** Prepares the session and logs in; returns where the user was going. */
  private async establish(req: Request, user: User, signedOn: SignedOn): Promise<unknown> {
    const bag = sessionBag(req);
    if (!bag) throw new Error('express-mfa: req.session is missing.');
    const previous = bag[SESSION_KEY] as MfaSessionState | undefined;
    const stepUp = previous?.stepUp;
    const isStepUp = stepUp !== undefined && previous?.auth?.userId === signedOn.userId && previous.pending === undefined;
    const target = isStepUp ? stepUp.returnTo : bag.returnTo;
    // No CSRF token yet: the old one must not outlive the new session id, and a new one is made when one of the
    // library's forms is first shown. Most signed-on requests are the app's own, and each would read, hash and
    // write back a token it never uses.
    if (isStepUp) {
      previous.auth = signedOn;
      delete previous.csrf;
      delete previous.stepUp;
    } else {
      for (const key of Object.keys(bag)) if (key !== 'cookie' && key !== 'returnTo') delete bag[key];
      bag[SESSION_KEY] = { auth: signedOn } satisfies MfaSessionState;
    }
    delete bag.returnTo;
    // The policy's record goes into the session before Passport saves it, so
    // that no request ever sees the login without it.
    await this.logIn(req, user);
    return target;
  }

  private logIn(req: Request, user: User): Promise<void> {
    const logIn = (req as unknown as { logIn?: LogIn }).logIn;
    if (typeof logIn !== 'function') {
      throw new Error('express-mfa: req.logIn is missing; mount passport.session() before app.use(auth).');
    }
    return new Promise((resolve, reject) =>
      logIn.call(req, user, { keepSessionInfo: true }, (err) => (err ? reject(err) : resolve())),
    );
  }
}
