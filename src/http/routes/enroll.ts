import type { Request, Response, Router } from 'express';
import { MfaError } from '../../core/errors.js';
import { requestContext } from '../context.js';
import type { HttpDeps } from '../deps.js';
import { livePending, readState, writeState, type PendingSignOn } from '../session-state.js';
import type { SignOnFlow } from '../signon.js';
import { answer } from './answer.js';
import { handle } from './handle.js';

/**
 * Pairing during sign-on: a user with no active device pairs one of the
 * method that pairs from the user's profile (an email address), and the code
 * that pairs it also completes the sign-on. By default only the value on the
 * user's profile may be paired, so that a stolen password cannot pair the
 * thief's own address; an authenticator app is never paired with a password
 * alone.
 */
export function enrollRoutes<User>(deps: HttpDeps<User>, flow: SignOnFlow<User>, router: Router): void {
  const { options, devices, pages, events } = deps;
  const base = options.basePath;
  const method = deps.methods.signOnPairing();

  function pendingEnroll(req: Request): PendingSignOn | undefined {
    const pending = livePending(req, deps.now());
    return pending?.stage === 'enroll' ? pending : undefined;
  }

  /**
   * Pairing during sign-on is only for a user who has no active device. Once
   * one exists (paired in another tab, say), an old sign-on left at this step
   * must answer that device instead: otherwise a password alone could add
   * another address.
   */
  async function stillWithoutDevice(res: Response, pending: PendingSignOn): Promise<boolean> {
    if (!(await devices.hasPairedDevice(pending.userId))) return true;
    pending.stage = 'decide';
    delete pending.enrollDeviceId;
    res.redirect(303, `${base}/challenge`);
    return false;
  }

  function anyAddress(pending: PendingSignOn): boolean {
    return options.policies.get(pending.policy)?.enrollAddress === 'any';
  }

  function profileAddress(pending: PendingSignOn): string | undefined {
    if (!method?.profileField) return undefined;
    try {
      return String(method.newDevice({ [method.profileField]: pending.profileEmail }, { userId: pending.userId, deviceId: '', account: pending.userId })[method.profileField]);
    } catch {
      return undefined;
    }
  }

  async function show(req: Request, res: Response, pending: PendingSignOn, error?: MfaError): Promise<void> {
    const locals = error ? { error } : {};
    const status = error ? error.status : 200;
    const device = pending.enrollDeviceId ? await deps.devices.get(pending.userId, pending.enrollDeviceId).catch(() => null) : null;
    if (device && device.status === 'ACTIVATION_REQUIRED' && method) {
      return pages.render(req, res, `methods/${method.type}/enroll-verify`, {
        title: 'enrollVerify.title',
        sentTo: device.maskedLabel,
        codeLength: method.settings.codeLength,
        canChangeAddress: anyAddress(pending),
        ...locals,
      }, status);
    }
    delete pending.enrollDeviceId;
    const profile = profileAddress(pending);
    if (!method || (!anyAddress(pending) && !profile)) {
      deps.warnOnce(
        'no-email',
        `user ${pending.userId} has no email address to pair during sign-on, so the sign-on was refused: options.user.email(user) gave none (by default it reads user.email). Pass user: { email: (u) => u.yourEmailField } to mfa(), or let users type an address with policy.enrollAddress: 'any'.`,
      );
      events.publish('signon.refused', pending.userId, requestContext(req), { reason: 'NO_EMAIL' });
      delete writeState(req).pending;
      return pages.render(req, res, 'message', {
        title: 'message.needsEmail',
        error: { code: 'NO_EMAIL', key: 'NO_EMAIL', vars: {} },
      }, 403);
    }
    pages.render(req, res, `methods/${method.type}/enroll`, {
      title: 'enroll.title',
      profileEmail: anyAddress(pending) ? profile ?? '' : profile,
      anyAddress: anyAddress(pending),
      askNickname: method.settings.nickname,
      ...locals,
    }, status);
  }

  router.get('/enroll', handle(deps, async (req, res) => {
    const pending = pendingEnroll(req);
    if (!pending) return res.redirect(303, readState(req)?.pending ? `${base}/challenge` : options.loginPath);
    if (!(await stillWithoutDevice(res, pending))) return;
    await show(req, res, pending);
  }));

  router.post('/enroll', handle(deps, async (req, res) => {
    const pending = pendingEnroll(req);
    if (!pending) return res.redirect(303, options.loginPath);
    if (!(await stillWithoutDevice(res, pending))) return;
    const body = req.body as Record<string, unknown>;
    try {
      if (!method?.profileField) return res.redirect(303, `${base}/enroll`);
      const value = anyAddress(pending) ? body[method.profileField] : profileAddress(pending);
      const { device, challenge } = await devices.create(pending.userId, { type: method.type, [method.profileField]: value, nickname: body.nickname }, requestContext(req));
      pending.enrollDeviceId = device.id;
      writeState(req).flash = { notice: { key: 'notice.sent', vars: { address: challenge?.sentTo ?? '' } } };
    } catch (error) {
      if (!(error instanceof MfaError) || error.status >= 500) throw error;
      return show(req, res, pending, error);
    }
    res.redirect(303, `${base}/enroll`);
  }));

  const answerPairing = answer(deps, flow, 'pairing', async (req, res, error) => {
    const pending = pendingEnroll(req);
    if (pending) return show(req, res, pending, error);
    res.redirect(303, options.loginPath);
  });
  router.post('/enroll/verify', handle(deps, async (req, res) => {
    const pending = pendingEnroll(req);
    if (!pending) return res.redirect(303, options.loginPath);
    if (!(await stillWithoutDevice(res, pending))) return;
    answerPairing(req, res);
  }));

  router.post('/enroll/resend', handle(deps, async (req, res) => {
    const pending = pendingEnroll(req);
    if (!pending) return res.redirect(303, options.loginPath);
    if (!pending.enrollDeviceId) return res.redirect(303, `${base}/enroll`);
    if (!(await stillWithoutDevice(res, pending))) return;
    try {
      const challenge = await devices.resend(pending.userId, pending.enrollDeviceId, requestContext(req));
      writeState(req).flash = { notice: { key: 'notice.resent', vars: { address: challenge.sentTo ?? '' } } };
    } catch (error) {
      if (!(error instanceof MfaError) || error.status >= 500) throw error;
      return show(req, res, pending, error);
    }
    res.redirect(303, `${base}/enroll`);
  }));

  router.post('/enroll/restart', handle(deps, async (req, res) => {
    const pending = pendingEnroll(req);
    if (!pending) return res.redirect(303, options.loginPath);
    if (pending.enrollDeviceId && anyAddress(pending)) {
      await devices.remove(pending.userId, pending.enrollDeviceId, requestContext(req)).catch((error) => {
        if (!(error instanceof MfaError) || error.status >= 500) throw error;
      });
      delete pending.enrollDeviceId;
    }
    res.redirect(303, `${base}/enroll`);
  }));
}
