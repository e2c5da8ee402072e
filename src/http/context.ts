import type { Request } from 'express';
import type { RequestContext } from '../core/events.js';
import { localeOf } from './locale.js';

export function requestContext(req: Request): RequestContext {
  return { ip: req.ip, userAgent: req.get('user-agent'), locale: localeOf(req) };
}

/** JSON clients get JSON errors and 401s; browsers get pages and redirects. */
export function wantsJson(req: Request): boolean {
  return req.accepts(['html', 'json']) === 'json' || req.is('application/json') === 'application/json';
}
