import type { NextFunction, Request, Response } from 'express';
import { ForbiddenError, UnsupportedMediaTypeError } from '../../core/errors.js';

/**
 * CSRF defence for the JSON API. A cross-site HTML form cannot send
 * Content-Type: application/json, and a cross-site script that could would
 * need a CORS preflight that this API never grants; a browser also names the
 * page's origin, which must be ours. Non-browser clients send no Origin and
 * rely on the session cookie, as any API client with a cookie does.
 */
export function writeGuard(req: Request, _res: Response, next: NextFunction): void {
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return next();
  if (req.method !== 'DELETE' && req.is('application/json') !== 'application/json') return next(new UnsupportedMediaTypeError());
  const site = req.get('sec-fetch-site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return next(new ForbiddenError('Cross-site requests are refused.'));
  const origin = req.get('origin');
  if (origin !== undefined && origin !== `${req.protocol}://${req.get('host')}`) return next(new ForbiddenError('Cross-site requests are refused.'));
  next();
}
