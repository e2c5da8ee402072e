import type { Request } from 'express';
import { MfaError, NotFoundError } from '../core/errors.js';
import { RECOVERY } from '../methods/recovery/codes.js';
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
 * MfaStrategy's verify function: checks the answer of the flow under way in
 * this session (`purpose` says which) and names the user to log in, with
 * what answered in `amr`.
 */
export function createVerify<User>(deps: HttpDeps<User>, flow: SignOnFlow<User>): MfaVerify {
  const { authentications, devices, options } = deps;
  const permitted = (policy: string | undefined) => options.policies.get(policy ?? 'default')?.methods ?? [];

  async function verify(req: Request, purpose: string | undefined): Promise<MfaVerifyResult> {
    const state = readState(req);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const context = requestContext(req);

    if (purpose === 'stepup') {
      const auth = signedOn(deps, req);
      const stepUp = state?.stepUp;
      if (!auth || !stepUp?.deviceId) return failure(ENDED());
      const { amr } = await authentications.answer(auth.userId, stepUp, body, 'stepup', permitted(auth.policy), context);
      return { user: req.user, info: { userId: auth.userId, amr: [...new Set([...auth.amr, ...amr])], purpose } };
    }

    const pending = livePending(req, deps.now());
    let amr: string[];
    if (purpose === 'signon') {
      if (pending?.stage !== 'challenge' || !pending.deviceId) return failure(ENDED());
      ({ amr } = await authentications.answer(pending.userId, pending, body, 'signon', permitted(pending.policy), context));
    } else if (purpose === 'recovery') {
      if (pending?.stage !== 'challenge' || !permitted(pending.policy).includes(RECOVERY)) return failure(ENDED());
      await deps.recovery.use(pending.userId, body.recoveryCode, context);
      amr = ['otp'];
    } else if (purpose === 'pairing') {
      if (pending?.stage !== 'enroll' || !pending.enrollDeviceId) return failure(ENDED());
      if (await devices.hasPairedDevice(pending.userId)) return failure(ENDED());
      const device = await devices.activate(pending.userId, pending.enrollDeviceId, body.otp, context);
      amr = [deps.methods.get(device.type)?.amr ?? 'otp'];
    } else {
      throw new TypeError(`express-mfa: MfaStrategy needs { purpose: 'signon' | 'pairing' | 'stepup' | 'recovery' }, got ${String(purpose)}.`);
    }
    const user = await flow.deserialize(pending.ref, req);
    if (!user || flow.userId(user) !== pending.userId) return failure(new NotFoundError('This account is no longer available.', 'account'));
    return { user, info: { userId: pending.userId, amr: ['pwd', ...amr], purpose } };
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
