import type { Request } from 'express';
import { MfaError, NotFoundError } from '../core/errors.js';
import type { MfaVerify, MfaVerifyResult } from '../passport/strategy.js';
import { requestContext } from './context.js';
import type { HttpDeps } from './deps.js';
import { signedOn } from './required.js';
import { livePending, readState } from './session-state.js';
import type { SignOnFlow } from './signon.js';

function failure(error: MfaError): MfaVerifyResult {
  return { failure: { error }, status: error.status };
}

const ENDED = () => new NotFoundError('This sign-on has ended. Please sign on again.', 'ended');

/**
 * MfaStrategy's verify function: checks the code of the flow under way in
 * this session (`purpose` says which) and names the user to log in.
 */
export function createVerify<User>(deps: HttpDeps<User>, flow: SignOnFlow<User>): MfaVerify {
  const { challenges, devices } = deps;

  async function verify(req: Request, purpose: string | undefined): Promise<MfaVerifyResult> {
    const state = readState(req);
    const otp = (req.body as Record<string, unknown> | undefined)?.otp;
    const context = requestContext(req);

    if (purpose === 'stepup') {
      const auth = signedOn(deps, req);
      const challengeId = state?.stepUp?.challengeId;
      if (!auth || !challengeId) return failure(ENDED());
      await challenges.verify(auth.userId, challengeId, otp, 'stepup', context, state?.stepUp?.deviceId);
      return { user: req.user, info: { userId: auth.userId, amr: [...new Set([...auth.amr, 'otp'])], purpose } };
    }

    const pending = livePending(req, deps.now());
    if (purpose === 'signon') {
      if (pending?.stage !== 'challenge' || !pending.challengeId) return failure(ENDED());
      await challenges.verify(pending.userId, pending.challengeId, otp, 'signon', context, pending.deviceId);
    } else if (purpose === 'recovery') {
      if (pending?.stage !== 'challenge') return failure(ENDED());
      const code = (req.body as Record<string, unknown> | undefined)?.recoveryCode;
      await deps.recovery.use(pending.userId, code, context);
    } else if (purpose === 'pairing') {
      if (pending?.stage !== 'enroll' || !pending.enrollDeviceId) return failure(ENDED());
      if (await devices.hasPairedDevice(pending.userId)) return failure(ENDED());
      await devices.activate(pending.userId, pending.enrollDeviceId, otp, context);
    } else {
      throw new TypeError(`express-mfa: MfaStrategy needs { purpose: 'signon' | 'pairing' | 'stepup' | 'recovery' }, got ${String(purpose)}.`);
    }
    const user = await flow.deserialize(pending.ref, req);
    if (!user || flow.userId(user) !== pending.userId) return failure(new NotFoundError('This account is no longer available.', 'account'));
    return { user, info: { userId: pending.userId, amr: ['pwd', 'otp'], purpose } };
  }

  return async (req, options) => {
    try {
      return await verify(req, options.purpose);
    } catch (error) {
      if (error instanceof MfaError && error.status < 500) return failure(error);
      throw error;
    }
  };
}
