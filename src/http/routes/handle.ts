import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { HttpDeps } from '../deps.js';

/** An async route whose unexpected errors become the library's error page (fail closed, cause logged). */
export function handle(
  deps: HttpDeps,
  route: (req: Request, res: Response, next: NextFunction) => Promise<unknown>,
): RequestHandler {
  return (req, res, next) => {
    route(req, res, next).catch((error) => deps.pages.error(req, res, error));
  };
}
