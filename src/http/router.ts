import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { StoreUnavailableError } from '../core/errors.js';
import { verifyCsrf } from './csrf.js';
import type { HttpDeps } from './deps.js';
import { apiRouter } from './api/router.js';
import { underBasePath } from './base-path.js';
import { webauthnAssets } from './assets.js';
import { gate } from './gate.js';
import { chooseLocale } from './locale.js';
import { trustProxyCheck } from './proxy-check.js';
import { sessionBag } from './session-state.js';
import { challengeRoutes } from './routes/challenge.js';
import { deviceRoutes } from './routes/devices.js';
import { enrollRoutes } from './routes/enroll.js';
import { recoveryRoutes } from './routes/recovery.js';
import type { SignOnFlow } from './signon.js';

/**
 * The middleware of app.use(auth): the gate on every request, and the pages
 * under basePath. Requests elsewhere pay for the gate only.
 */
export function createMiddleware<User>(deps: HttpDeps<User>, flow: SignOnFlow<User>, limitWrites: RequestHandler): RequestHandler {
  const { basePath } = deps.options;
  const pages = express.Router();
  pages.get('/assets/mfa.css', (req, res) => deps.pages.serveStylesheet(req, res));
  const webauthn = webauthnAssets(deps.options.views);
  pages.get('/assets/webauthn.js', webauthn.script);
  pages.get('/assets/simplewebauthn-browser.js', webauthn.library);
  // Everything else here, redirects and API errors too, belongs to one session: no browser or proxy may keep it.
  pages.use((_req: Request, res: Response, next: NextFunction) => {
    res.set('Cache-Control', 'no-store');
    next();
  });
  pages.use((req: Request, _res: Response, next: NextFunction) => {
    chooseLocale(req, deps.translator, deps.options.locale);
    next();
  });
  // Before the session is used and any store work: a flood is refused at the cost of a counter (or none, when remembered).
  pages.use(limitWrites);
  pages.use((req: Request, res: Response, next: NextFunction) => {
    // express-session goes on without req.session when its store is down: nothing here works without one.
    if (sessionBag(req)) return next();
    const error = new StoreUnavailableError(new Error('req.session is missing: the session store is down, or express-session is not mounted before express-mfa'));
    deps.pages.error(req, res, error, req.path.startsWith('/api/') ? 'json' : 'auto');
  });
  pages.use('/api', apiRouter(deps, flow));
  pages.use(express.urlencoded({ extended: false, limit: '16kb' }));
  pages.use(verifyCsrf);
  challengeRoutes(deps, flow, pages);
  enrollRoutes(deps, flow, pages);
  recoveryRoutes(deps, flow, pages);
  deviceRoutes(deps, pages);
  pages.use((error: unknown, req: Request, res: Response, _next: NextFunction) => deps.pages.error(req, res, error));

  const mounted = express.Router();
  mounted.use(basePath, pages);
  const runGate = gate(deps);
  const checkTrustProxy = trustProxyCheck(deps.options.logger, deps.options.production);
  const route = (req: Request, res: Response, next: NextFunction): void => {
    if (underBasePath(req.url, basePath)) mounted(req, res, next);
    else next();
  };

  return function mfaMiddleware(req: Request, res: Response, next: NextFunction): void {
    checkTrustProxy(req);
    const outcome = runGate(req);
    if (outcome === undefined) return route(req, res, next);
    if (outcome instanceof Error) return next(outcome);
    outcome.then(() => route(req, res, next), (error: unknown) => next(error));
  };
}
