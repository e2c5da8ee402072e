import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import defaultPassport from 'passport';
import { Authentications } from './core/authentications.js';
import { DeviceService, type CreateDeviceInput, type CreatedDevice, type Device, type DeviceUpdate, type RemoveOptions } from './core/devices.js';
import { Notices } from './core/notices.js';
import { EmailSender, LogTransport } from './delivery/email.js';
import { MfaError, NotFoundError, StoreUnavailableError } from './core/errors.js';
import { parseChallengeId, publicChallengeId } from './core/challenge-id.js';
import { publicChallenge, type Challenge } from './core/challenge-view.js';
import { EventBus, type MfaEvent, type RequestContext } from './core/events.js';
import { authenticate, routeLanding, type AuthenticateOptions } from './http/authenticate.js';
import { clientMistake } from './http/client-error.js';
import type { HttpDeps } from './http/deps.js';
import { Pages } from './http/pages.js';
import { TrustCookie } from './http/trust-cookie.js';
import { required, type RequiredOptions } from './http/required.js';
import { createMiddleware } from './http/router.js';
import { writeLimit } from './http/rate-limit.js';
import { SignOnFlow } from './http/signon.js';
import { createVerify } from './http/verify.js';
import type { PassportLike } from './config/contracts.js';
import type { MfaOptions } from './config/options.js';
import { resolveOptions } from './config/resolve.js';
import { MethodRegistry } from './methods/registry.js';
import { RecoveryCodeService } from './methods/recovery/service.js';
import { MfaStrategy } from './passport/strategy.js';
import { Renderer } from './render.js';
import { Translator } from './i18n/translator.js';
import { chooseLocale } from './http/locale.js';
import { SecurityStamps } from './core/stamps.js';
import { TrustedBrowsers, type TrustedBrowser } from './core/trusted-browsers.js';
import { MemoryMfaStore } from './stores/memory.js';
import type { MfaStore } from './stores/types.js';

/** The app's own code managing a user's devices. */
export interface DevicesApi {
  list(userId: string): Promise<Device[]>;
  get(userId: string, deviceId: string): Promise<Device>;
  /**
   * Adds a device of input.type ('email', the default, or 'totp'); it is
   * ACTIVATION_REQUIRED until activate(). An email device is sent its pairing
   * code (`challenge`); an authenticator app's secret comes back once in
   * `pairing` (`secret`, `keyUri`, `manualKey`, `qrCode`).
   */
  create(userId: string, input: CreateDeviceInput, context?: RequestContext): Promise<CreatedDevice>;
  activate(userId: string, deviceId: string, otp: string, context?: RequestContext): Promise<Device>;
  resend(userId: string, deviceId: string, context?: RequestContext): Promise<Challenge>;
  update(userId: string, deviceId: string, update: DeviceUpdate, context?: RequestContext): Promise<Device>;
  /**
   * Orders the user's devices as `ids` (each of them once, else a
   * VALIDATION_FAILED of field `order`); the first active one is the default.
   * Resolves with the devices in their new order.
   */
  reorder(userId: string, ids: string[], context?: RequestContext): Promise<Device[]>;
  /** Moves a device one place up or down in the user's order; a no-op at either end. */
  move(userId: string, deviceId: string, direction: 'up' | 'down', context?: RequestContext): Promise<Device[]>;
  /** Refuses the user's last active method unless `options.allowLast` (an administrator's removal). */
  remove(userId: string, deviceId: string, context?: RequestContext, options?: RemoveOptions): Promise<void>;
}

/** The app's own code asking a user for a one-time passcode (to confirm a payment, say). */
export interface ChallengesApi {
  /**
   * Asks the device (default: the user's default device) for a code: an
   * email device is sent one; an authenticator app needs nothing sent
   * (`sentTo` and `expiresAt` are null).
   */
  start(userId: string, options?: { deviceId?: string }, context?: RequestContext): Promise<Challenge>;
  /**
   * Checks the answer to a challenge of `userId` (the user the app is asking,
   * such as req.user's id); another user's challenge is NOT_FOUND. Resolves
   * with the completed challenge, or throws an MfaError.
   */
  verify(userId: string, challengeId: string, otp: string, context?: RequestContext): Promise<Challenge>;
}

/**
 * The app's own code managing a user's recovery codes: a fallback, not a
 * device. A set is made as a whole, replacing the earlier one, and its codes
 * are returned only by generate(): the store keeps their HMACs.
 */
export interface RecoveryCodesApi {
  /** A new set of 10 codes (`xxxx-xxxx-xxxx`) to show the user once; every earlier code stops working. */
  generate(userId: string, context?: RequestContext): Promise<string[]>;
  /** How many of the user's codes are still unused. */
  remaining(userId: string): Promise<number>;
  /**
   * Spends one code (any case, dashes and spaces ignored), once: for an app
   * that signs users on with a recovery code on a route of its own. Throws
   * OtpError INVALID_OTP for a wrong or spent code (counted toward the
   * user's lockout), LockedError, or ValidationError for what is no code.
   * The user's active addresses are told.
   */
  use(userId: string, code: string, context?: RequestContext): Promise<{ remaining: number }>;
}

/**
 * The app's own code managing a user's trusted browsers ("Trust this browser"
 * at sign-on): each skips MFA on later sign-ons until it expires or is revoked.
 */
export interface TrustedBrowsersApi {
  /** The user's trusted browsers that have not expired, the most recently used first. */
  list(userId: string): Promise<TrustedBrowser[]>;
  /** Ends the trust of one browser: its next sign-on asks for MFA. False when the user has no such browser. */
  revoke(userId: string, browserId: string, context?: RequestContext): Promise<boolean>;
  /** Ends the trust of every browser of the user; resolves with how many there were. */
  revokeAll(userId: string, context?: RequestContext): Promise<number>;
}

/** Options of auth.logIn: the policy, and where the user lands once signed on, as for auth.authenticate. */
export interface LogInOptions {
  policy?: string;
  successRedirect?: string;
  successReturnToOrRedirect?: string;
}

export interface MfaMiddleware<User = any> extends RequestHandler {
  authenticate(strategy: string | string[], options?: AuthenticateOptions): RequestHandler;
  /**
   * The sign-on policy for a user the app has identified itself (just signed
   * up, or followed a magic link): like a password step that succeeded. It
   * answers the request: a redirect to the challenge, to pairing or on into
   * the app, or the library's page when the policy refuses. It rejects only
   * on what the app must see (its serializeUser failing, say).
   */
  logIn(req: Request, res: Response, user: User, options?: LogInOptions): Promise<void>;
  required(options?: RequiredOptions): RequestHandler;
  /**
   * The per-address limit on the library's writes (options.rateLimit), for
   * app.use() before session(): a refused write then never reads the
   * session. Every other request passes at once; a write it counted is not
   * counted again by app.use(auth), which applies the same limit itself
   * when this is not mounted. With rateLimit: false it passes everything.
   */
  rateLimit: RequestHandler;
  /**
   * An error handler for the library's own errors: an MfaError, or a session
   * store that is down, becomes the library's page (503 "try again shortly",
   * or JSON) with the cause logged. Every other error (the app's 404, its
   * CSRF failure, its bugs) goes on with next(err) to the app's handlers.
   */
  errorHandler(): ErrorRequestHandler;
  devices: DevicesApi;
  challenges: ChallengesApi;
  /** The user's recovery codes: auth.recoveryCodes.generate(userId), .remaining(userId), .use(userId, code). */
  recoveryCodes: RecoveryCodesApi;
  /** The user's trusted browsers: auth.trustedBrowsers.list(userId), .revoke(userId, id), .revokeAll(userId). */
  trustedBrowsers: TrustedBrowsersApi;
  /**
   * Ends every trusted browser of the user (as any change of the user's
   * methods does): call it when the password changes, or the account may be
   * in other hands.
   */
  revoke(userId: string): Promise<void>;
  on(event: 'event', listener: (event: MfaEvent) => void): MfaMiddleware<User>;
  off(event: 'event', listener: (event: MfaEvent) => void): MfaMiddleware<User>;
  /**
   * The second step as a Passport strategy, for an app that answers codes on
   * a route of its own: passport.use('mfa', auth.strategy). The library's
   * own pages do not look it up by name, so several instances never mix.
   */
  readonly strategy: MfaStrategy;
  readonly store: MfaStore;
}

/**
 * Creates express-mfa: a middleware for app.use() that gates every request
 * and serves the MFA pages, with helpers for sign-on routes and app code.
 */
export function mfa<User = any>(options: MfaOptions<User> = {}): MfaMiddleware<User> {
  const resolved = resolveOptions(options);
  const { logger } = resolved;
  const now = () => Date.now();
  const warned = new Set<string>();
  const warnOnce = (key: string, message: string) => {
    if (warned.has(key)) return;
    warned.add(key);
    logger.warn(message);
  };

  if (resolved.production && resolved.store instanceof MemoryMfaStore) {
    logger.warn('the in-memory store keeps MFA state in this process only: paired devices are lost on restart and not shared between instances. Pass store: new RedisMfaStore({ client }).');
  }
  if (resolved.secretGenerated) {
    logger.warn('no secret given: using a random one for this process. Set secret (at least 32 bytes) so that codes and cookies survive a restart.');
  }
  if (!resolved.email.transport) {
    logger.warn('no email.transport given: codes are written to this log instead of being sent.');
  }

  const store = resolved.store ?? new MemoryMfaStore();
  const passport: PassportLike = resolved.passport ?? (defaultPassport as unknown as PassportLike);
  const renderer = new Renderer(resolved.views);
  const events = new EventBus((error) => logger.error('an "event" listener threw', error));
  const translator = new Translator(resolved.messages);
  const sender = new EmailSender(renderer, translator, resolved.email.transport ?? new LogTransport(logger), resolved.email.from, resolved.branding);
  const stamps = new SecurityStamps(store, events);
  const trusted = new TrustedBrowsers(store, resolved.secret, events, now);
  const methods = MethodRegistry.create(resolved.methods, { store, secret: resolved.secret, events, limits: resolved.limits, mail: sender, branding: resolved.branding, translator, now });
  const notices = new Notices(store, methods, resolved.notices, logger);
  const devices = new DeviceService(store, methods, notices, resolved.limits, events, stamps, now);
  const authentications = new Authentications(store, devices, methods, events);
  const recovery = new RecoveryCodeService(store, notices, resolved.limits, resolved.secret, events, now);
  const pages = new Pages(renderer, translator, {
    basePath: resolved.basePath,
    homePath: resolved.homePath,
    signOutPath: resolved.signOutPath,
    csp: resolved.contentSecurityPolicy,
    branding: resolved.branding,
    appViews: resolved.views,
  }, logger);

  const deps: HttpDeps<User> = {
    options: resolved,
    passport,
    devices,
    authentications,
    methods,
    recovery,
    events,
    pages,
    trusted,
    trustCookie: new TrustCookie(resolved.secret),
    stamps,
    translator,
    now,
    warnOnce,
  };
  const flow = new SignOnFlow(deps);
  const strategy = new MfaStrategy(createVerify(deps, flow));

  const writes = writeLimit(deps, store);
  const middleware = createMiddleware(deps, flow, writes.inRouter) as MfaMiddleware<User>;

  const devicesApi: DevicesApi = {
    list: (userId) => devices.list(userId),
    get: (userId, deviceId) => devices.get(userId, deviceId),
    create: (userId, input, context) => devices.create(userId, input, context),
    activate: (userId, deviceId, otp, context) => devices.activate(userId, deviceId, otp, context),
    resend: (userId, deviceId, context) => devices.resend(userId, deviceId, context),
    update: (userId, deviceId, update, context) => devices.update(userId, deviceId, update, context),
    reorder: (userId, ids, context) => devices.reorder(userId, ids, context),
    move: (userId, deviceId, direction, context) => devices.move(userId, deviceId, direction, context),
    remove: (userId, deviceId, context, removeOptions) => devices.remove(userId, deviceId, context, removeOptions),
  };

  const challengesApi: ChallengesApi = {
    async start(userId, startOptions = {}, context = {}) {
      const device = await authentications.pick(userId, startOptions.deviceId, undefined);
      const prompt = await authentications.start(device, 'stepup', undefined, context);
      return publicChallenge(device, 'stepup', prompt, publicChallengeId(userId, { challengeId: prompt.challengeId, deviceId: device.id }));
    },
    async verify(userId, challengeId, otp, context = {}) {
      const parsed = parseChallengeId(challengeId);
      if (typeof userId !== 'string' || parsed.userId !== userId) throw new NotFoundError('No such authentication.');
      // The answer as each method reads it: a code, or a passkey's assertion.
      const { device } = await authentications.answer(userId, parsed.target, { otp, assertion: otp }, 'stepup', undefined, context);
      return { ...publicChallenge(device, 'stepup', {}, challengeId), status: 'COMPLETED' };
    },
  };

  const recoveryCodesApi: RecoveryCodesApi = {
    generate: (userId, context) => recovery.generate(userId, context),
    remaining: (userId) => recovery.remaining(userId),
    use: (userId, code, context) => recovery.use(userId, code, context),
  };

  const trustedBrowsersApi: TrustedBrowsersApi = {
    list: (userId) => trusted.list(userId),
    revoke: (userId, browserId, context = {}) => trusted.revoke(userId, browserId, context, 'admin'),
    revokeAll: (userId, context = {}) => trusted.revokeAll(userId, context, 'admin'),
  };

  return Object.assign(middleware, {
    authenticate: (strategyName: string | string[], authOptions?: AuthenticateOptions) => authenticate(deps, flow, strategyName, authOptions),
    required: (requiredOptions?: RequiredOptions) => required(deps, requiredOptions),
    rateLimit: writes.early,
    logIn: async (req: Request, res: Response, user: User, logInOptions: LogInOptions = {}) => {
      const { policy = 'default', ...landingOptions } = logInOptions;
      if (!resolved.policies.has(policy)) throw new TypeError(`express-mfa: logIn(…, { policy: '${policy}' }) names no policy; known policies: ${[...resolved.policies.keys()].join(', ')}.`);
      const landing = routeLanding(landingOptions, 'logIn');
      chooseLocale(req, translator, resolved.locale, user);
      try {
        await flow.begin(req, res, user, policy, landing);
      } catch (error) {
        if (!(error instanceof MfaError)) throw error;
        pages.error(req, res, error);
      }
    },
    errorHandler: (): ErrorRequestHandler => (error, req, res, next) => {
      const ours = libraryError(error, req, resolved.basePath);
      if (!ours || res.headersSent) return next(error);
      chooseLocale(req, translator, resolved.locale);
      pages.error(req, res, ours === true ? error : ours);
    },
    devices: devicesApi,
    challenges: challengesApi,
    recoveryCodes: recoveryCodesApi,
    trustedBrowsers: trustedBrowsersApi,
    revoke: (userId: string) => stamps.renew(userId),
    on(event: 'event', listener: (event: MfaEvent) => void) {
      events.on(event, listener);
      return middleware;
    },
    off(event: 'event', listener: (event: MfaEvent) => void) {
      events.off(event, listener);
      return middleware;
    },
    strategy,
    store,
  });
}

/**
 * The errors errorHandler() answers: the library's own, any error of a
 * request to the library's pages (a body the app's parser refused there, say;
 * true: answer it as it is), and a session layer that failed, which is the
 * sign-on's outage too: express-session ran but its store failed (it sets
 * req.sessionStore and hands on the store's error with no req.session), or
 * its store is disconnected (it goes on without a session, and Passport's
 * session strategy says so).
 */
function libraryError(error: unknown, req: Request, basePath: string): MfaError | true | undefined {
  if (error instanceof MfaError) return error;
  const path = req.originalUrl;
  if (path === basePath || path.startsWith(`${basePath}/`) || path.startsWith(`${basePath}?`)) return true;
  if ((req as { session?: unknown }).session !== undefined || clientMistake(error)) return undefined;
  const storeFailed = (req as { sessionStore?: unknown }).sessionStore !== undefined;
  const noSession = error instanceof Error && error.message.startsWith('Login sessions require session support');
  return storeFailed || noSession ? new StoreUnavailableError(error) : undefined;
}
