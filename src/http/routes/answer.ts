import type { NextFunction, Request, Response } from 'express';
import type { MfaError } from '../../errors.js';
import type { MfaSuccessInfo } from '../../passport/strategy.js';
import type { HttpDeps } from '../deps.js';
import { readState } from '../session-state.js';
import type { SignOnFlow } from '../signon.js';

/**
 * Answers a code through Passport's 'mfa' strategy; on success the user is
 * logged in (a new session id) and sent on, on a wrong answer `onFailure`
 * shows the page again with the reason.
 */
export function answerWithPassport<User>(
  deps: HttpDeps<User>,
  flow: SignOnFlow<User>,
  purpose: MfaSuccessInfo['purpose'],
  onFailure: (req: Request, res: Response, error: MfaError) => Promise<void>,
) {
  return (req: Request, res: Response, next: NextFunction): void => {
    // Passport's custom callback: (err, user, info) on success, (null, false, challenge, status) on failure.
    const callback = (err: unknown, user: User | false, info: MfaSuccessInfo | { error: MfaError }) => {
      const run = async () => {
        if (err) throw err;
        if (!user) return onFailure(req, res, (info as { error: MfaError }).error);
        const success = info as MfaSuccessInfo;
        const policy = readState(req)?.pending?.policy ?? readState(req)?.auth?.policy ?? 'default';
        await flow.complete(req, res, user, { userId: success.userId, amr: success.amr, policy, mfaAt: deps.now() }, purpose);
      };
      run().catch((error) => deps.pages.error(req, res, error));
    };
    deps.passport.authenticate('mfa', { purpose, session: false }, callback)(req, res, next);
  };
}
