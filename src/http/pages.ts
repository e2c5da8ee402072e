import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Request, Response } from 'express';
import { MfaError, RateLimitError } from '../core/errors.js';
import { messageHelpers, type Translator } from '../i18n/translator.js';
import type { Branding, Logger } from '../config/contracts.js';
import { LIBRARY_VIEWS, type Renderer } from '../render.js';
import { clientMistake, describeMistake } from './client-error.js';
import { wantsJson } from './context.js';
import { appCsrfToken, lazyCsrfToken } from './csrf.js';
import { localeOf } from './locale.js';
import { sessionBag, takeFlash, type ErrorNote } from './session-state.js';

const CSP = "default-src 'self'; form-action 'self'; frame-ancestors 'none'";

export interface PagesConfig {
  basePath: string;
  homePath: string;
  signOutPath: string | undefined;
  csp: boolean;
  branding: Branding;
  appViews: string[];
}

/** Renders the library's pages in the request's language, with the headers every one of them needs. */
export class Pages {
  readonly stylesheetPath: string;
  private readonly stylesheet: { body: Buffer; etag: string };
  private readonly refusals = new Map<string, string>();

  constructor(
    private readonly renderer: Renderer,
    private readonly translator: Translator,
    private readonly config: PagesConfig,
    private readonly logger: Logger,
  ) {
    const file = [...config.appViews, LIBRARY_VIEWS].map((dir) => join(dir, 'assets', 'mfa.css')).find((f) => existsSync(f))!;
    const body = readFileSync(file);
    this.stylesheet = { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"` };
    this.stylesheetPath = `${config.basePath}/assets/mfa.css`;
  }

  /** What a page shows for an error, in the request's language. */
  note(error: unknown): ErrorNote {
    if (!(error instanceof MfaError)) return { code: 'SERVICE_UNAVAILABLE', key: 'SERVICE_UNAVAILABLE', vars: {} };
    return { code: error.code, key: error.key, vars: error.vars(), field: (error as { field?: string }).field };
  }

  render(req: Request, res: Response, view: string, locals: Record<string, unknown>, status = 200): void {
    this.send(res, this.page(req, view, locals), status);
  }

  /**
   * The rate limit's refusal (RATE_LIMITED, `retryAfter` seconds): the error
   * answer of every other error. A page for a request with no session, no
   * login and no CSRF token of the app's (auth.rateLimit, mounted before
   * session()) is the same for every client of one language and wait: it is
   * rendered once, so that refusing a flood costs next to nothing, not even
   * an Error's stack.
   */
  refuse(req: Request, res: Response, retryAfter: number, format: 'auto' | 'json'): void {
    const anonymous = !sessionBag(req) && appCsrfToken(req) === null && (req as { isAuthenticated?: () => boolean }).isAuthenticated?.() !== true;
    if (format === 'json' || !anonymous || wantsJson(req)) return this.error(req, res, new RateLimitError('RATE_LIMITED', retryAfter), format);
    const key = `${localeOf(req)}\0${retryAfter}`;
    let html = this.refusals.get(key);
    if (html === undefined) {
      // A key per language and second of the window: a bound, in case of many languages and a long window.
      if (this.refusals.size >= 1000) this.refusals.clear();
      html = this.page(req, 'message', { title: 'message.tryAgain', error: new RateLimitError('RATE_LIMITED', retryAfter) });
      this.refusals.set(key, html);
    }
    res.set('Retry-After', String(retryAfter));
    this.send(res, html, 429);
  }

  private page(req: Request, view: string, locals: Record<string, unknown>): string {
    const flash = takeFlash(req);
    const helpers = messageHelpers(this.translator, localeOf(req));
    const given = locals.error;
    const error = given instanceof Error ? this.note(given) : (given as ErrorNote | undefined) ?? (flash && 'error' in flash ? flash.error : undefined);
    const notice = flash && 'notice' in flash ? helpers.t(flash.notice.key, flash.notice.vars) : null;
    return this.renderer.render(view, {
      ...this.common(helpers),
      // No session (its store is down): no token and no flash, and nothing to write them to.
      csrfToken: sessionBag(req) ? lazyCsrfToken(req) : null,
      appCsrfToken: appCsrfToken(req),
      // The gate has taken back any login without a satisfied policy, so Passport's word is enough here.
      signedOn: (req as { isAuthenticated?: () => boolean }).isAuthenticated?.() === true,
      notice,
      ...locals,
      title: helpers.t(locals.title as string),
      error: error ? { code: error.code, field: error.field, message: helpers.errorText(error) } : null,
    });
  }

  private send(res: Response, html: string, status: number): void {
    res.status(status);
    this.securityHeaders(res);
    res.type('html').send(html);
  }

  /** Logs what the app's operators need to see: outages and bugs, not wrong codes. */
  logCause(req: Request, error: unknown): void {
    const known = error instanceof MfaError;
    if (!known || error.status >= 500) this.logger.error(`${req.method} ${req.originalUrl} failed`, known && error.cause ? error.cause : error);
  }

  /** A page (or JSON body) for an error: its own message for an MfaError or a client's mistake, a 503 for anything else. */
  error(req: Request, res: Response, raised: unknown, format: 'auto' | 'json' = 'auto'): void {
    const mistake = clientMistake(raised);
    // A warning, not an error: anyone can send these, and they must not set off outage alerts.
    if (mistake) this.logger.warn(`${req.method} ${req.originalUrl} refused with ${mistake.status}, the client's mistake: ${describeMistake(raised)}`);
    else this.logCause(req, raised);
    const error = mistake ?? raised;
    const known = error instanceof MfaError;
    const status = known ? error.status : 503;
    if (status === 503) res.set('Retry-After', '5');
    if (error instanceof RateLimitError) res.set('Retry-After', String(error.retryAfter));
    if (format === 'json' || wantsJson(req)) {
      const details = known ? error.details() : {};
      const message = known ? error.message : 'The sign-on service is unavailable right now. Please try again shortly.';
      res.status(status).json({ code: known ? error.code : 'SERVICE_UNAVAILABLE', message, ...(Object.keys(details).length > 0 ? { details } : {}) });
      return;
    }
    this.render(req, res, 'message', { title: status === 503 || status === 429 ? 'message.tryAgain' : 'message.error', error }, status);
  }

  serveStylesheet(req: Request, res: Response): void {
    res.set('Cache-Control', 'public, max-age=3600');
    res.set('ETag', this.stylesheet.etag);
    if (req.get('if-none-match') === this.stylesheet.etag) {
      res.status(304).end();
      return;
    }
    res.type('css').send(this.stylesheet.body);
  }

  private common(helpers: ReturnType<typeof messageHelpers>) {
    return {
      ...helpers,
      basePath: this.config.basePath,
      homePath: this.config.homePath,
      signOutPath: this.config.signOutPath,
      stylesheet: this.stylesheetPath,
      brand: this.config.branding,
    };
  }

  private securityHeaders(res: Response): void {
    res.set('Cache-Control', 'no-store');
    res.set('X-Content-Type-Options', 'nosniff');
    res.set('Referrer-Policy', 'same-origin');
    if (this.config.csp) res.set('Content-Security-Policy', CSP);
  }
}
