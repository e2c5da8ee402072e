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
import { trustLocals } from './trust-locals.js';

/** The sign-on or step-up challenge under way in this session. */
interface ActiveChallenge {
  purpose: Extract<ChallengePurpose, 'signon' | 'stepup'>;
  userId: string;
  /** The policy whose methods are offered and accepted. */
  policy: string;
  /** The session object that holds challengeId and deviceId (and, for a sign-on, the device labels). */
  holder: { challengeId?: string; deviceId?: string; options?: Record<string, unknown>; devices?: DeviceChoice[]; recoveryCodes?: number };
}

function active<User>(deps: HttpDeps<User>, req: Request): ActiveChallenge | undefined {
  const state = readState(req);
  const pending = livePending(req, deps.now());
  if (pending?.stage === 'challenge') return { purpose: 'signon', userId: pending.userId, policy: pending.policy, holder: pending };
  const auth = signedOn(deps, req);
  if (state?.stepUp && auth) return { purpose: 'stepup', userId: auth.userId, policy: auth.policy, holder: state.stepUp };
  return undefined;
}

/** Pages: enter the code, send or resend it, use another method, cancel. */
export function challengeRoutes<User>(deps: HttpDeps<User>, flow: SignOnFlow<User>, router: Router): void {
  const { options, authentications, methods, pages } = deps;
  const base = options.basePath;
  const permitted = (current: ActiveChallenge) => options.policies.get(current.policy)?.methods ?? [];

  async function show(req: Request, res: Response, current: ActiveChallenge, error?: MfaError): Promise<void> {
    // A sign-on keeps the labels it was started with: no store read per page or per wrong code.
    const list = current.holder.devices ?? (await authentications.choices(current.userId, permitted(current))).map((d) => deviceChoice(methods, d));
    if (list.length === 0) throw new NotFoundError('You have no active authentication method. Add one under "Your authentication methods" first.', 'noDevice');
    const selection = options.policies.get(current.policy)?.deviceSelection ?? 'default';
    const device = list.find((d) => d.id === current.holder.deviceId) ?? (selection === 'default' || list.length === 1 ? list[0] : undefined);
    // An app's code is asked for as soon as the page shows it: nothing is sent, so the page is the prompt.
    // A passkey needs a ceremony first: the page offers to begin one (a POST to /challenge/send).
    if (device && !device.sends && !device.ceremony && current.holder.deviceId === undefined) current.holder.deviceId = device.id;
    pages.render(
      req,
      res,
      'challenge',
      {
        // A passkey has no code to enter.
        title: current.purpose === 'stepup' ? 'stepup.title' : device?.ceremony ? 'challenge.confirmTitle' : 'challenge.title',
        purpose: current.purpose,
        // None yet: deviceSelection 'prompt' lets the user choose first.
        device: device ?? null,
        choose: device ? [] : list,
        others: device ? list.filter((d) => d.id !== device.id) : [],
        sent: device !== undefined && device.id === current.holder.deviceId && current.holder.challengeId !== undefined,
        prompted: device !== undefined && device.id === current.holder.deviceId && ((!device.sends && !device.ceremony) || current.holder.challengeId !== undefined),
        options: current.holder.options ?? null,
        codeLength: device ? methods.get(device.type)?.settings.codeLength ?? 6 : 6,
        // Counted when the sign-on started, as the labels are: the page reads nothing from the store.
        recovery: current.purpose === 'signon' && (current.holder.recoveryCodes ?? 0) > 0,
        // "Trust this browser": offered on a sign-on whose policy has trustBrowser, never on a step-up.
        ...trustLocals(current.purpose === 'signon' ? options.policies.get(current.policy)?.trustBrowserMs : false),
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

  // "Use another method": a method that sends codes sends one now; an app is simply the one asked for.
  router.post('/challenge/send', handle(deps, async (req, res) => {
    const current = active(deps, req);
    if (!current) return res.redirect(303, options.loginPath);
    const requested = (req.body as Record<string, unknown>).deviceId ?? current.holder.deviceId;
    let sentTo: string | undefined;
    try {
      const device = await authentications.pick(current.userId, requested, permitted(current));
      const previous = current.holder.challengeId;
      const prompt = await authentications.start(device, current.purpose, permitted(current), requestContext(req));
      current.holder.deviceId = device.id;
      if (prompt.challengeId === undefined) delete current.holder.challengeId;
      else current.holder.challengeId = prompt.challengeId;
      if (prompt.options === undefined) delete current.holder.options;
      else current.holder.options = prompt.options;
      if (previous && previous !== prompt.challengeId) await authentications.cancel(current.userId, { challengeId: previous });
      sentTo = prompt.sentTo;
    } catch (error) {
      if (!(error instanceof MfaError) || error.status >= 500) throw error;
      return show(req, res, current, error);
    }
    if (sentTo !== undefined) writeState(req).flash = { notice: { key: 'notice.sent', vars: { address: sentTo } } };
    res.redirect(303, `${base}/challenge`);
  }));

  router.post('/challenge/resend', handle(deps, async (req, res) => {
    const current = active(deps, req);
    if (!current) return res.redirect(303, options.loginPath);
    const { challengeId, deviceId } = current.holder;
    if (!challengeId || !deviceId) return res.redirect(303, `${base}/challenge`);
    try {
      const prompt = await authentications.resend(current.userId, { challengeId, deviceId }, current.purpose, permitted(current), requestContext(req));
      current.holder.challengeId = prompt.challengeId;
      writeState(req).flash = { notice: { key: 'notice.resent', vars: { address: prompt.sentTo ?? '' } } };
    } catch (error) {
      if (!(error instanceof MfaError) || error.status >= 500) throw error;
      return show(req, res, current, error);
    }
    res.redirect(303, `${base}/challenge`);
  }));

  router.post('/challenge/cancel', handle(deps, async (req, res) => {
    const current = active(deps, req);
    const state = writeState(req);
    if (current?.holder.challengeId) await authentications.cancel(current.userId, { challengeId: current.holder.challengeId });
    if (current?.purpose === 'stepup') {
      delete state.stepUp;
      return res.redirect(303, options.successRedirect);
    }
    delete state.pending;
    res.redirect(303, options.loginPath);
  }));
}
