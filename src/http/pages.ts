import { existsSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Request, Response } from 'express';
import { MfaError } from '../errors.js';
import { LIBRARY_VIEWS, type Renderer } from '../render.js';
import type { Logger } from '../options.js';
import { csrfToken } from './csrf.js';
import { sessionBag, takeFlash } from './session-state.js';
import { wantsJson } from './context.js';

const CSP = "default-src 'self'; form-action 'self'; frame-ancestors 'none'";

/** Renders the library's pages with the headers every one of them needs. */
export class Pages {
  readonly stylesheetPath: string;
  private readonly stylesheet: { body: Buffer; etag: string };

  constructor(
    private readonly renderer: Renderer,
    private readonly basePath: string,
    private readonly homePath: string,
    private readonly csp: boolean,
    private readonly logger: Logger,
    appViews: string[],
  ) {
    const file = [...appViews, LIBRARY_VIEWS].map((dir) => join(dir, 'assets', 'mfa.css')).find((f) => existsSync(f))!;
    const body = readFileSync(file);
    this.stylesheet = { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"` };
    this.stylesheetPath = `${basePath}/assets/mfa.css`;
  }

  render(req: Request, res: Response, view: string, locals: Record<string, unknown>, status = 200): void {
    const flash = takeFlash(req);
    const html = this.renderer.render(view, {
      basePath: this.basePath,
      homePath: this.homePath,
      stylesheet: this.stylesheetPath,
      csrfToken: csrfToken(req),
      notice: flash && 'notice' in flash ? flash.notice : null,
      error: flash && 'error' in flash ? flash.error : null,
      ...locals,
    });
    res.status(status);
    this.securityHeaders(res);
    res.type('html').send(html);
  }

  /** Logs what the app's operators need to see: outages and bugs, not wrong codes. */
  logCause(req: Request, error: unknown): void {
    const known = error instanceof MfaError;
    if (!known || error.status >= 500) this.logger.error(`${req.method} ${req.originalUrl} failed`, known && error.cause ? error.cause : error);
  }

  /** A page (or JSON body) for an error: its own message for an MfaError, a 503 for anything else. */
  error(req: Request, res: Response, error: unknown, format: 'auto' | 'json' = 'auto'): void {
    const known = error instanceof MfaError;
    this.logCause(req, error);
    const status = known ? error.status : 503;
    const code = known ? error.code : 'SERVICE_UNAVAILABLE';
    const message = known ? error.message : 'The sign-on service is unavailable right now. Please try again shortly.';
    if (status === 503) res.set('Retry-After', '5');
    if (format === 'json' || wantsJson(req)) {
      const details = known ? error.details() : {};
      res.status(status).json({ code, message, ...(Object.keys(details).length > 0 ? { details } : {}) });
      return;
    }
    if (!sessionBag(req)) {
      // No session means no CSRF token and no notice; render without them.
      res.status(status);
      this.securityHeaders(res);
      res.type('html').send(this.renderer.render('message', { basePath: this.basePath, homePath: this.homePath, stylesheet: this.stylesheetPath, csrfToken: null, notice: null, title: 'Please try again', error: { code, message } }));
      return;
    }
    this.render(req, res, 'message', { title: status === 503 ? 'Please try again' : 'Something went wrong', error: { code, message } }, status);
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

  private securityHeaders(res: Response): void {
    res.set('Cache-Control', 'no-store');
    res.set('X-Content-Type-Options', 'nosniff');
    res.set('Referrer-Policy', 'same-origin');
    if (this.csp) res.set('Content-Security-Policy', CSP);
  }
}
