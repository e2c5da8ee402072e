import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';

/**
 * The app's own CSRF defence for its own forms (sign-on, sign-out): a
 * synchronizer token kept in the session. Its field is not `_mfa_csrf`, the
 * library's, so that neither check can ever take the other's token.
 */
export const CSRF_FIELD = 'csrf_token';

type Bag = { csrfToken?: string } | undefined;

/** The session's token for the app's forms, made on first use. */
export function csrfToken(req: Request): string {
  const bag = req.session as unknown as { csrfToken?: string };
  bag.csrfToken ??= randomBytes(32).toString('base64url');
  return bag.csrfToken;
}

/** Whether a request may go on: a read, or a write that carries the session's token. */
export function csrfAllows(req: Request): boolean {
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return true;
  const expected = (req.session as unknown as Bag)?.csrfToken;
  const given = (req.body as Record<string, unknown> | undefined)?.[CSRF_FIELD];
  if (typeof expected !== 'string' || typeof given !== 'string') return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
