import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, rateLimit, type RateLimitInfo, type Store } from 'express-rate-limit';
import { MfaError, RateLimitError, StoreUnavailableError } from '../core/errors.js';
import type { MfaStore } from '../stores/types.js';
import { underBasePath } from './base-path.js';
import type { HttpDeps } from './deps.js';
import { chooseLocale } from './locale.js';
import { OverLimitMemo } from './over-limit-memo.js';
import { MfaRateLimitStore } from './rate-limit-store.js';

/** Where express-rate-limit puts its figures on the request: not `rateLimit`, which an app's own limiter may use. */
const PROPERTY = 'mfaRateLimit';

/** An IPv6 client by its /56, express-rate-limit's default: one subscriber or host is given a /64 to a /48. */
const IPV6_SUBNET = 56;

/** The requests counted already, by the early middleware or the router: one request is one hit. */
const counted = new WeakSet<Request>();

export interface WriteLimit {
  /**
   * For app.use() before session(): limits the library's writes under
   * basePath, so that a refused one never reads the session; every other
   * request passes at the cost of a string test.
   */
  early: RequestHandler;
  /** In the library's router: the same limit, on the writes the early middleware did not see. */
  inRouter: RequestHandler;
}

const pass: RequestHandler = (_req, _res, next) => next();

/**
 * The limit per client address on the library's writes (every method but
 * GET and HEAD), with express-rate-limit: keyed by req.ip (IPv6 by its /56),
 * counted in the MFA store (or the app's own express-rate-limit store), and
 * refused as the library's 429 page or JSON error, with Retry-After. An
 * address this process knows to be over the limit is refused before
 * express-rate-limit runs. A store that fails refuses the write (503): it
 * never passes unlimited.
 */
export function writeLimit<User>(deps: HttpDeps<User>, store: MfaStore): WriteLimit {
  const config = deps.options.rateLimit;
  if (!config) return { early: pass, inRouter: pass };
  const { basePath, logger } = deps.options;
  const counter = (config.store as Store | undefined) ?? new MfaRateLimitStore(store, config.windowMs, deps.now);
  const memo = new OverLimitMemo(counter, config.limit, deps.now);
  const secondsUntil = (resetAt: number) => Math.max(1, Math.ceil((resetAt - deps.now()) / 1000));

  const limiter = rateLimit({
    windowMs: config.windowMs,
    limit: config.limit,
    store: memo,
    ipv6Subnet: IPV6_SUBNET,
    requestPropertyName: PROPERTY,
    // Retry-After is set with the library's own answer; no RateLimit-* headers.
    standardHeaders: false,
    legacyHeaders: false,
    handler: (req: Request, _res: Response, next: NextFunction) => {
      const { resetTime } = (req as Request & Record<typeof PROPERTY, RateLimitInfo>)[PROPERTY];
      next(new RateLimitError('RATE_LIMITED', secondsUntil(resetTime?.getTime() ?? deps.now() + config.windowMs)));
    },
    logger: {
      // Its checks of the setup ('trust proxy' true, X-Forwarded-For with it off…), each said once: the operator's to fix.
      warn: (warning: unknown) => logger.warn(`rate limit: ${messageOf(warning)}`),
      error: (error: unknown, context?: string) =>
        isSetupCheck(error) ? logger.warn(`rate limit: ${messageOf(error)}`) : logger.error(`rate limit: ${context ?? messageOf(error)}`, error),
    },
  });

  /** A write refused: past the limit (`retryAfter` seconds), or not counted (the store failed); in the request's language, kept by no cache. */
  const refuse = (req: Request, res: Response, format: 'auto' | 'json', reason: number | unknown) => {
    chooseLocale(req, deps.translator, deps.options.locale);
    res.set('Cache-Control', 'no-store');
    if (typeof reason === 'number') return deps.pages.refuse(req, res, reason, format);
    if (reason instanceof RateLimitError) return deps.pages.refuse(req, res, reason.retryAfter, format);
    // The app's own store may fail with any error: a write it cannot count is refused, not let through.
    deps.pages.error(req, res, reason instanceof MfaError ? reason : new StoreUnavailableError(reason), format);
  };

  const limit = (api: (req: Request) => boolean): RequestHandler => (req, res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD' || counted.has(req)) return next();
    counted.add(req);
    const format = api(req) ? 'json' : 'auto';
    // The key express-rate-limit makes by default, with the same subnet.
    const until = req.ip === undefined ? undefined : memo.until(ipKeyGenerator(req.ip, IPV6_SUBNET));
    if (until !== undefined) return refuse(req, res, format, secondsUntil(until));
    limiter(req, res, (error?: unknown) => (error === undefined ? next() : refuse(req, res, format, error)));
  };

  const early = limit((req) => underBasePath(req.url, `${basePath}/api`));
  return {
    early: (req, res, next) => (underBasePath(req.url, basePath) ? early(req, res, next) : next()),
    inRouter: limit((req) => underBasePath(req.url, '/api')),
  };
}

/** express-rate-limit's own checks of the setup throw errors with an ERR_ERL_ code. */
function isSetupCheck(error: unknown): boolean {
  return typeof (error as { code?: unknown })?.code === 'string' && (error as { code: string }).code.startsWith('ERR_ERL_');
}

function messageOf(value: unknown): string {
  return value instanceof Error ? value.message : String(value);
}
