import type { Request, Response, Router } from 'express';
import { MfaError, NotFoundError } from '../../core/errors.js';
import type { ChallengePurpose } from '../../stores/types.js';
import { requestContext } from '../context.js';
import type { HttpDeps } from '../deps.js';
import { signedOn } from '../required.js';
import { deviceChoice, livePending, readState, writeState, type DeviceChoice } from '../session-state.js';
import type { SignOnFlow } from '../signon.js';
import { answer } from './answer.js';
import { handle } from './handle.js';

/** The sign-on or step-up challenge under way in this session. */
interface ActiveChallenge {
  purpose: Extract<ChallengePurpose, 'signon' | 'stepup'>;
  userId: string;
  /** The session object that holds challengeId and deviceId (and, for a sign-on, the device labels). */
  holder: { challengeId?: string; deviceId?: string; devices?: DeviceChoice[]; recoveryCodes?: number };
}

function active<User>(deps: HttpDeps<User>, req: Request): ActiveChallenge | undefined {
  const state = readState(req);
  const pending = livePending(req, deps.now());
  if (pending?.stage === 'challenge') return { purpose: 'signon', userId: pending.userId, holder: pending };
  const auth = signedOn(deps, req);
  if (state?.stepUp && auth) return { purpose: 'stepup', userId: auth.userId, holder: state.stepUp };
  return undefined;
}

/** Pages: enter the code, send or resend it, use another device, cancel. */
export function challengeRoutes<User>(deps: HttpDeps<User>, flow: SignOnFlow<User>, router: Router): void {
  const { options, devices, challenges, pages } = deps;
  const base = options.basePath;

  async function show(req: Request, res: Response, current: ActiveChallenge, error?: MfaError): Promise<void> {
    // A sign-on keeps the labels it was started with: no store read per page or per wrong code.
    const list = current.holder.devices ?? (await devices.active(current.userId)).map(deviceChoice);
    const device = list.find((d) => d.id === current.holder.deviceId) ?? list[0];
    if (!device) throw new NotFoundError('You have no active authentication method. Add one under "Your authentication methods" first.', 'noDevice');
    pages.render(
      req,
      res,
      'challenge',
      {
        title: current.purpose === 'stepup' ? 'stepup.title' : 'challenge.title',
        purpose: current.purpose,
        device,
        others: list.filter((d) => d.id !== device.id),
        sent: current.holder.challengeId !== undefined && current.holder.deviceId === device.id,
        codeLength: deps.options.emailMethod.otpLength,
        // Counted when the sign-on started, as the labels are: the page reads nothing from the store.
        recovery: current.purpose === 'signon' && (current.holder.recoveryCodes ?? 0) > 0,
        ...(error ? { error } : {}),
      },
      error ? error.status : 200,
    );
  }

  router.get('/challenge', handle(deps, async (req, res) => {
    const pending = livePending(req, deps.now());
    if (pending?.stage === 'enroll') return res.redirect(303, `${base}/enroll`);
    if (pending?.stage === 'decide') {
      const user = await flow.deserialize(pending.ref, req);
      delete writeState(req).pending;
      if (!user) return res.redirect(303, options.loginPath);
      return flow.begin(req, res, user, options.policies.has(pending.policy) ? pending.policy : 'default');
    }
    const current = active(deps, req);
    if (!current) return res.redirect(303, signedOn(deps, req) ? options.successRedirect : options.loginPath);
    await show(req, res, current);
  }));

  // A wrong answer shows the page again; the challenge is still the session's.
  const again = async (req: Request, res: Response, error: MfaError) => {
    const current = active(deps, req);
    if (current) return show(req, res, current, error);
    res.redirect(303, options.loginPath);
  };
  // Built once: a flood of wrong codes costs no new handler per answer.
  const answers = { signon: answer(deps, flow, 'signon', again), stepup: answer(deps, flow, 'stepup', again) };
  router.post('/challenge', (req, res) => {
    const current = active(deps, req);
    if (!current) return res.redirect(303, options.loginPath);
    answers[current.purpose](req, res);
  });

  router.post('/challenge/send', handle(deps, async (req, res) => {
    const current = active(deps, req);
    if (!current) return res.redirect(303, options.loginPath);
    const requested = (req.body as Record<string, unknown>).deviceId;
    const device = typeof requested === 'string'
      ? await devices.record(current.userId, requested)
      : (await devices.active(current.userId)).find((d) => d.id === current.holder.deviceId) ?? (await devices.active(current.userId))[0];
    if (!device || device.status !== 'ACTIVE') throw new NotFoundError('No such authentication method.', 'device');
    try {
      const previous = current.holder.challengeId;
      const challenge = await challenges.start(device, current.purpose, requestContext(req));
      current.holder.challengeId = challenge.id;
      current.holder.deviceId = device.id;
      if (previous) await challenges.cancel(current.userId, previous);
      writeState(req).flash = { notice: { key: 'notice.sent', vars: { address: challenge.sentTo } } };
    } catch (error) {
      if (!(error instanceof MfaError) || error.status >= 500) throw error;
      return show(req, res, { ...current, holder: { ...current.holder, deviceId: device.id } }, error);
    }
    res.redirect(303, `${base}/challenge`);
  }));

  router.post('/challenge/resend', handle(deps, async (req, res) => {
    const current = active(deps, req);
    if (!current) return res.redirect(303, options.loginPath);
    const { challengeId, deviceId } = current.holder;
    if (!challengeId || !deviceId) return res.redirect(303, `${base}/challenge`);
    try {
      const device = await devices.record(current.userId, deviceId);
      const challenge = (await challenges.get(current.userId, challengeId))
        ? await challenges.resend(device, challengeId, requestContext(req))
        : await challenges.start(device, current.purpose, requestContext(req));
      current.holder.challengeId = challenge.id;
      writeState(req).flash = { notice: { key: 'notice.resent', vars: { address: challenge.sentTo } } };
    } catch (error) {
      if (!(error instanceof MfaError) || error.status >= 500) throw error;
      return show(req, res, current, error);
    }
    res.redirect(303, `${base}/challenge`);
  }));

  router.post('/challenge/cancel', handle(deps, async (req, res) => {
    const current = active(deps, req);
    const state = writeState(req);
    if (current?.holder.challengeId) await challenges.cancel(current.userId, current.holder.challengeId);
    if (current?.purpose === 'stepup') {
      delete state.stepUp;
      return res.redirect(303, options.successRedirect);
    }
    delete state.pending;
    res.redirect(303, options.loginPath);
  }));
}
