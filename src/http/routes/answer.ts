import type { Request, Response } from 'express';
import type { MfaError } from '../../core/errors.js';
import type { MfaSuccessInfo } from '../../passport/strategy.js';
import type { HttpDeps } from '../deps.js';
import { readState } from '../session-state.js';
import type { SignOnFlow } from '../signon.js';
import { createVerify } from '../verify.js';

/**
 * Answers the code of the flow under way in this session; on success the
 * user is logged in through Passport's req.logIn (a new session id) and sent
 * on, on a wrong answer `onFailure` shows the page again with the reason.
 * The check is this instance's own, not a strategy looked up by name on a
 * Passport that other instances may share.
 */
export function answer<User>(
  deps: HttpDeps<User>,
  flow: SignOnFlow<User>,
  purpose: MfaSuccessInfo['purpose'],
  onFailure: (req: Request, res: Response, error: MfaError) => Promise<void>,
) {
  const verify = createVerify(deps, flow);
  return (req: Request, res: Response): void => {
    const run = async () => {
      const result = await verify(req, { purpose });
      if (!('user' in result)) return onFailure(req, res, result.failure.error as MfaError);
      const { userId, amr } = result.info;
      const pending = readState(req)?.pending;
      const policy = pending?.policy ?? readState(req)?.auth?.policy ?? 'default';
      // "Trust this browser" is a sign-on's choice: a step-up never makes a browser trusted.
      const trust = purpose !== 'stepup' && pending !== undefined && (req.body as Record<string, unknown> | undefined)?.trustBrowser === '1';
      await flow.complete(req, res, result.user as User, { userId, amr, policy, mfaAt: deps.now() }, purpose, pending?.landing, trust);
    };
    run().catch((error) => deps.pages.error(req, res, error));
  };
}
