import type { Request, Response, Router } from 'express';
import type { MfaError } from '../../core/errors.js';
import type { HttpDeps } from '../deps.js';
import { livePending, type PendingSignOn } from '../session-state.js';
import type { SignOnFlow } from '../signon.js';
import { answer } from './answer.js';
import { handle } from './handle.js';
import { trustLocals } from './trust-locals.js';

/**
 * A recovery code instead of a device, during a pending sign-on at the
 * challenge: one code signs on once, as the challenge's answer does (through
 * Passport, with a new session id, amr ['pwd', 'otp']).
 */
export function recoveryRoutes<User>(deps: HttpDeps<User>, flow: SignOnFlow<User>, router: Router): void {
  const { options, pages } = deps;
  const base = options.basePath;

  /** The pending sign-on that may use a code; otherwise where to go instead (the login, or the challenge). */
  function pendingWithCodes(req: Request, res: Response): PendingSignOn | undefined {
    const pending = livePending(req, deps.now());
    if (!pending) {
      res.redirect(303, options.loginPath);
      return undefined;
    }
    if (pending.stage !== 'challenge' || (pending.recoveryCodes ?? 0) === 0) {
      res.redirect(303, `${base}/${pending.stage === 'enroll' ? 'enroll' : 'challenge'}`);
      return undefined;
    }
    return pending;
  }

  function show(req: Request, res: Response, error?: MfaError): void {
    const pending = livePending(req, deps.now());
    const trust = trustLocals(pending ? options.policies.get(pending.policy)?.trustBrowserMs : false);
    pages.render(req, res, 'recovery', { title: 'recovery.title', ...trust, ...(error ? { error } : {}) }, error ? error.status : 200);
  }

  router.get('/recovery', handle(deps, async (req, res) => {
    if (pendingWithCodes(req, res)) show(req, res);
  }));

  const check = answer(deps, flow, 'recovery', async (req, res, error) => show(req, res, error));
  router.post('/recovery', (req, res) => {
    if (pendingWithCodes(req, res)) check(req, res);
  });
}
