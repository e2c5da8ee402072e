import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { MfaError } from '../core/errors.js';
import { readState, writeState } from './session-state.js';

export class CsrfError extends MfaError {
  constructor() {
    super('CSRF_FAILED', 'This form has expired. Go back, reload the page and try again.', 403);
  }
}

/**
 * The library's own field and header. They are not `_csrf` / `x-csrf-token`,
 * which csurf and csrf-sync read, so that the app's check and ours never take
 * each other's token.
 */
export const CSRF_FIELD = '_mfa_csrf';
export const CSRF_HEADER = 'x-mfa-csrf-token';

function freshCsrfToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The session's token for forms (synchronizer token pattern); made on first use. */
export function csrfToken(req: Request): string {
  const state = writeState(req);
  state.csrf ??= freshCsrfToken();
  return state.csrf;
}

/**
 * The token as a template value, made only when a form prints it: a page
 * without a form (the error page of an anonymous POST, say) writes nothing
 * to the session, so with saveUninitialized: false it creates none.
 */
export function lazyCsrfToken(req: Request): { toString(): string } {
  return { toString: () => csrfToken(req) };
}

/**
 * The app's own CSRF token (csurf's and csrf-sync's req.csrfToken()), when
 * its middleware ran before ours: the library's forms carry it as `_csrf`
 * too, so that they pass the app's check whichever order the two are in, and
 * the sign-out form can post to the app's own protected route.
 */
export function appCsrfToken(req: Request): { toString(): string } | null {
  const make = (req as { csrfToken?: () => string }).csrfToken;
  return typeof make === 'function' ? { toString: () => make.call(req) } : null;
}

/** Refuses a state-changing request whose form field or header does not carry the session's token. */
export function verifyCsrf(req: Request, _res: Response, next: NextFunction): void {
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return next();
  const expected = readState(req)?.csrf;
  const body = req.body as Record<string, unknown> | undefined;
  const field = body?.[CSRF_FIELD];
  const given = (typeof field === 'string' ? field : undefined) ?? req.get(CSRF_HEADER);
  if (typeof expected !== 'string' || typeof given !== 'string') return next(new CsrfError());
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  next(a.length === b.length && timingSafeEqual(a, b) ? undefined : new CsrfError());
}
