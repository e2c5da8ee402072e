import type { Request, Response, Router } from 'express';
import { MfaError } from '../../core/errors.js';
import { requestContext } from '../context.js';
import type { HttpDeps } from '../deps.js';
import { demandStepUp, mfaIsFresh, required, signedOn } from '../required.js';
import { writeState, type SignedOn } from '../session-state.js';
import { handle } from './handle.js';

/** "Your authentication methods": list, add (and pair), rename, set default, order, remove. */
export function deviceRoutes<User>(deps: HttpDeps<User>, router: Router): void {
  const { options, devices, pages, recovery } = deps;
  const base = options.basePath;
  const signedOnOnly = required(deps);

  function auth(req: Request): SignedOn {
    return signedOn(deps, req)!;
  }

  /** Adding or removing a method needs a recent MFA, once the user has a method to answer with. */
  async function changeAllowed(req: Request, res: Response, returnTo: string): Promise<boolean> {
    const current = auth(req);
    if (mfaIsFresh(deps, current, options.recentMfaMs)) return true;
    if ((await devices.active(current.userId)).length === 0) return true;
    demandStepUp(deps, req, res, returnTo);
    return false;
  }

  function errorLocals(error: MfaError) {
    return { error };
  }

  async function showList(req: Request, res: Response, error?: MfaError): Promise<void> {
    const list = await devices.list(auth(req).userId);
    const activeCount = list.filter((d) => d.status === 'ACTIVE').length;
    const recoveryCodes = await recovery.remaining(auth(req).userId);
    pages.render(req, res, 'devices', {
      title: 'devices.title',
      devices: list,
      activeCount,
      recoveryCodes,
      // Few left: warn. None while the user has a method: offer them (right after the first method is paired, too).
      recoveryLow: recoveryCodes > 0 && recoveryCodes <= 2,
      recoveryOffer: recoveryCodes === 0 && activeCount > 0,
      canAdd: list.length < options.limits.maxDevices,
      ...(error ? errorLocals(error) : {}),
    }, error ? error.status : 200);
  }

  function showAdd(req: Request, res: Response, values: Record<string, unknown>, error?: MfaError): void {
    pages.render(req, res, 'device-add', {
      title: 'deviceAdd.title',
      values,
      askNickname: options.emailMethod.nickname,
      ...(error ? errorLocals(error) : {}),
    }, error ? error.status : 200);
  }

  async function showActivate(req: Request, res: Response, deviceId: string, error?: MfaError): Promise<void> {
    const device = await devices.get(auth(req).userId, deviceId);
    if (device.status !== 'ACTIVATION_REQUIRED') return res.redirect(303, `${base}/devices`);
    pages.render(req, res, 'device-activate', {
      title: 'deviceActivate.title',
      device,
      codeLength: options.emailMethod.otpLength,
      ...(error ? errorLocals(error) : {}),
    }, error ? error.status : 200);
  }

  /** Runs a change; a refusal (wrong code, limit, bad input) shows `page` again with the reason. */
  function change(run: (req: Request, res: Response) => Promise<void>, page: (req: Request, res: Response, error: MfaError) => Promise<void> | void) {
    return handle(deps, async (req, res) => {
      try {
        await run(req, res);
      } catch (error) {
        if (!(error instanceof MfaError) || error.status >= 500) throw error;
        await page(req, res, error);
      }
    });
  }

  const notice = (req: Request, key: string, vars: Record<string, string> = {}) => (writeState(req).flash = { notice: { key, vars } });
  const id = (req: Request) => String(req.params.id);

  router.use('/devices', signedOnOnly);

  router.get('/devices', handle(deps, (req, res) => showList(req, res)));

  router.get('/devices/add', handle(deps, async (req, res) => {
    if (await changeAllowed(req, res, `${base}/devices/add`)) showAdd(req, res, {});
  }));

  router.post('/devices/add', change(async (req, res) => {
    if (!(await changeAllowed(req, res, `${base}/devices/add`))) return;
    const body = req.body as Record<string, unknown>;
    const { device, challenge } = await devices.create(auth(req).userId, { email: body.email, nickname: body.nickname }, requestContext(req));
    writeState(req).pairing = device.id;
    notice(req, 'notice.sent', { address: challenge.sentTo });
    res.redirect(303, `${base}/devices/${encodeURIComponent(device.id)}/activate`);
  }, (req, res, error) => showAdd(req, res, { email: (req.body as Record<string, unknown>).email, nickname: (req.body as Record<string, unknown>).nickname }, error)));

  router.get('/devices/:id/activate', handle(deps, (req, res) => showActivate(req, res, id(req))));

  router.post('/devices/:id/activate', change(async (req, res) => {
    const userId = auth(req).userId;
    const device = await devices.activate(userId, id(req), (req.body as Record<string, unknown>).otp, requestContext(req));
    delete writeState(req).pairing;
    // The user's first method: the list, where this notice appears, offers recovery codes next.
    const first = (await devices.active(userId)).length === 1 && (await recovery.remaining(userId)) === 0;
    notice(req, first ? 'notice.addedOfferRecovery' : 'notice.added', { address: device.email });
    res.redirect(303, `${base}/devices`);
  }, (req, res, error) => showActivate(req, res, id(req), error)));

  // A new set of recovery codes, as a whole: a fresh MFA first, as for adding a method. The GET only asks to confirm.
  router.get('/devices/recovery-codes', handle(deps, async (req, res) => {
    if (!(await changeAllowed(req, res, `${base}/devices/recovery-codes`))) return;
    pages.render(req, res, 'recovery-generate', { title: 'recoveryConfirm.title', recoveryCodes: await recovery.remaining(auth(req).userId) });
  }));

  router.post('/devices/recovery-codes', handle(deps, async (req, res) => {
    if (!(await changeAllowed(req, res, `${base}/devices/recovery-codes`))) return;
    const codes = await recovery.generate(auth(req).userId, requestContext(req));
    // Shown once, on this answer only: never kept in the session, never cached (no-store, as every page).
    pages.render(req, res, 'recovery-codes', { title: 'recoveryCodes.title', codes });
  }));

  router.post('/devices/:id/resend', change(async (req, res) => {
    const challenge = await devices.resend(auth(req).userId, id(req), requestContext(req));
    notice(req, 'notice.resent', { address: challenge.sentTo });
    res.redirect(303, `${base}/devices/${encodeURIComponent(id(req))}/activate`);
  }, (req, res, error) => showActivate(req, res, id(req), error)));

  router.post('/devices/:id/rename', change(async (req, res) => {
    await devices.update(auth(req).userId, id(req), { nickname: (req.body as Record<string, unknown>).nickname ?? '' }, requestContext(req));
    notice(req, 'notice.renamed');
    res.redirect(303, `${base}/devices`);
  }, showList));

  router.post('/devices/:id/default', change(async (req, res) => {
    await devices.update(auth(req).userId, id(req), { default: true }, requestContext(req));
    notice(req, 'notice.defaultChanged');
    res.redirect(303, `${base}/devices`);
  }, showList));

  // Ordering adds or removes no method: no recent MFA asked, as for making one the default.
  router.post('/devices/:id/move', change(async (req, res) => {
    await devices.move(auth(req).userId, id(req), (req.body as Record<string, unknown>).direction, requestContext(req));
    notice(req, 'notice.moved');
    res.redirect(303, `${base}/devices`);
  }, showList));

  router.post('/devices/:id/remove', change(async (req, res) => {
    const userId = auth(req).userId;
    const device = await devices.get(userId, id(req));
    if (!(await changeAllowed(req, res, `${base}/devices`))) return;
    await devices.remove(userId, device.id, requestContext(req));
    notice(req, 'notice.removed', { address: device.email });
    res.redirect(303, `${base}/devices`);
  }, showList));
}
