import { createHash } from 'node:crypto';
import type { Request } from 'express';
import type { RequestContext } from '../core/events.js';
import { csrfToken } from './csrf.js';
import { localeOf } from './locale.js';

export function requestContext(req: Request): RequestContext {
  return {
    ip: req.ip,
    userAgent: req.get('user-agent'),
    locale: localeOf(req),
    origin: `${req.protocol}://${req.get('host')}`,
    host: req.hostname,
    // The session's own secret token, hashed: a ceremony begun in one session answers in no other, and the store never holds the token.
    binding: () => createHash('sha256').update(`express-mfa session\0${csrfToken(req)}`).digest('base64url'),
  };
}

/** JSON clients get JSON errors and 401s; browsers get pages and redirects. */
export function wantsJson(req: Request): boolean {
  return req.accepts(['html', 'json']) === 'json' || req.is('application/json') === 'application/json';
}
