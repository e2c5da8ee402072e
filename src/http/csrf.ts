import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { MfaError } from '../errors.js';
import { readState, writeState } from './session-state.js';

export class CsrfError extends MfaError {
  constructor() {
    super('CSRF_FAILED', 'This form has expired. Go back, reload the page and try again.', 403);
  }
}

export function freshCsrfToken(): string {
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

/** Refuses a state-changing request whose form field or header does not carry the session's token. */
export function verifyCsrf(req: Request, _res: Response, next: NextFunction): void {
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return next();
  const expected = readState(req)?.csrf;
  const body = req.body as Record<string, unknown> | undefined;
  const given = (typeof body?._csrf === 'string' ? body._csrf : undefined) ?? req.get('x-csrf-token');
  if (typeof expected !== 'string' || typeof given !== 'string') return next(new CsrfError());
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  next(a.length === b.length && timingSafeEqual(a, b) ? undefined : new CsrfError());
}
