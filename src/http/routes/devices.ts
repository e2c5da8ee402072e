import type { Request, Response, Router } from 'express';
import { MfaError, NotFoundError } from '../../core/errors.js';
import { requestContext } from '../context.js';
import type { HttpDeps } from '../deps.js';
import { demandStepUp, mfaIsFresh, required, signedOn } from '../required.js';
import { readState, writeState, type SignedOn } from '../session-state.js';
import { localeOf } from '../locale.js';
import { handle } from './handle.js';

/** "Your authentication methods": list, add (and pair), rename, set default, order, remove. */
export function deviceRoutes<User>(deps: HttpDeps<User>, router: Router): void {
  const { options, devices, methods, pages, recovery, trusted, trustCookie } = deps;
  const base = options.basePath;
  const signedOnOnly = required(deps);

  function auth(req: Request): SignedOn {
    return signedOn(deps, req)!;
  }

  /** Adding or removing a method needs a recent MFA, once the user has a method to answer with. */
  async function changeAllowed(req: Request, res: Response, returnTo: string): Promise<boolean> {
    const current = auth(req);
    if (!(await devices.changeNeedsMfa(current.userId, mfaIsFresh(deps, current, options.recentMfaMs)))) return true;
    demandStepUp(deps, req, res, returnTo);
    return false;
  }

  /** How an authenticator app names the account: the address on the user's profile, else the user id. */
  const account = (req: Request) => options.user.email(req.user as User) || auth(req).userId;

  function errorLocals(error: MfaError) {
    return { error };
  }

  async function showList(req: Request, res: Response, error?: MfaError): Promise<void> {
    const list = await devices.list(auth(req).userId);
    const activeCount = list.filter((d) => d.status === 'ACTIVE').length;
    const recoveryCodes = await recovery.remaining(auth(req).userId);
    // The trusted browsers, with this one marked; dates in the page's language.
    const current = trustCookie.read(req, auth(req).userId)?.id;
    const date = new Intl.DateTimeFormat(localeOf(req), { dateStyle: 'medium', timeStyle: 'short' });
    const trustedBrowsers = (await trusted.list(auth(req).userId)).map((b) => ({
      id: b.id,
      label: b.label,
      lastUsed: date.format(b.lastUsedAt),
      expires: date.format(b.expiresAt),
      current: b.id === current,
    }));
    pages.render(req, res, 'devices', {
      title: 'devices.title',
      devices: list,
      activeCount,
      recoveryCodes,
      // Few left: warn. None while the user has a method: offer them (right after the first method is paired, too).
      recoveryLow: recoveryCodes > 0 && recoveryCodes <= 2,
      recoveryOffer: recoveryCodes === 0 && activeCount > 0,
      canAdd: list.length < options.limits.maxDevices,
      trustedBrowsers,
      ...(error ? errorLocals(error) : {}),
    }, error ? error.status : 200);
  }

  /** Add method: the choice of a type, then the form of the type chosen (or the only one). */
  function showAdd(req: Request, res: Response, values: Record<string, unknown>, error?: MfaError): void {
    const types = methods.pairableTypes();
    const type = typeof values.type === 'string' && types.includes(values.type) ? values.type : types.length === 1 ? types[0] : undefined;
    pages.render(req, res, type ? `methods/${type}/add` : 'device-add', {
      title: type ? `method.${type}.addTitle` : 'deviceAdd.title',
      types,
      type,
      values,
      askNickname: type ? methods.get(type)!.settings.nickname : false,
      ...(error ? errorLocals(error) : {}),
    }, error ? error.status : 200);
  }

  async function showActivate(req: Request, res: Response, deviceId: string, error?: MfaError): Promise<void> {
    const userId = auth(req).userId;
    const device = await devices.get(userId, deviceId);
    if (device.status !== 'ACTIVATION_REQUIRED') return res.redirect(303, `${base}/devices`);
    const method = methods.get(device.type);
    if (!method) return res.redirect(303, `${base}/devices`);
    // An app's secret is shown only to the session that began its pairing; another one pairs it anew.
    const pairing = method.pairing ? (readState(req)?.pairing === device.id ? await devices.pairing(userId, device.id, account(req), requestContext(req)) : undefined) : {};
    if (!pairing) return res.redirect(303, `${base}/devices/add?type=${encodeURIComponent(device.type)}`);
    pages.render(req, res, 'device-activate', {
      title: `method.${device.type}.activateTitle`,
      device,
      sends: method.sends,
      pairing,
      codeLength: method.settings.codeLength,
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

  const translateMethod = (req: Request, type: string) => deps.translator.t(localeOf(req), `method.${type}`);
  const notice = (req: Request, key: string, vars: Record<string, string> = {}) => (writeState(req).flash = { notice: { key, vars } });
  const id = (req: Request) => String(req.params.id);
  /** The methods' own fields of an add form (`email`, `phone`). */
  const fields = (body: Record<string, unknown>) => Object.fromEntries(methods.createFields().map((f) => [f, body[f]]));

  router.use('/devices', signedOnOnly);

  router.get('/devices', handle(deps, (req, res) => showList(req, res)));

  router.get('/devices/add', handle(deps, async (req, res) => {
    const type = typeof req.query.type === 'string' ? req.query.type : undefined;
    if (await changeAllowed(req, res, `${base}/devices/add${type ? `?type=${encodeURIComponent(type)}` : ''}`)) showAdd(req, res, { type });
  }));

  router.post('/devices/add', change(async (req, res) => {
    if (!(await changeAllowed(req, res, `${base}/devices/add`))) return;
    const body = req.body as Record<string, unknown>;
    const type = typeof body.type === 'string' ? body.type : undefined;
    const { device, challenge } = await devices.create(auth(req).userId, { ...fields(body), type, nickname: body.nickname, account: account(req) }, requestContext(req));
    writeState(req).pairing = device.id;
    if (challenge?.sentTo) notice(req, 'notice.sent', { address: challenge.sentTo });
    res.redirect(303, `${base}/devices/${encodeURIComponent(device.id)}/activate`);
  }, (req, res, error) => {
    const body = req.body as Record<string, unknown>;
    // A form with no type is the first method's, as devices.create() took it.
    showAdd(req, res, { ...fields(body), type: body.type ?? methods.pairableTypes()[0], nickname: body.nickname }, error);
  }));

  router.get('/devices/:id/activate', handle(deps, (req, res) => showActivate(req, res, id(req))));

  router.post('/devices/:id/activate', change(async (req, res) => {
    const userId = auth(req).userId;
    const field = methods.get((await devices.get(userId, id(req))).type)?.api.inputs.pairing ?? 'otp';
    const device = await devices.activate(userId, id(req), (req.body as Record<string, unknown>)[field], requestContext(req));
    delete writeState(req).pairing;
    // The user's first method: the list, where this notice appears, offers recovery codes next.
    const first = (await devices.active(userId)).length === 1 && (await recovery.remaining(userId)) === 0;
    notice(req, first ? 'notice.addedOfferRecovery' : 'notice.added', { address: device.nickname || device.label || translateMethod(req, device.type) });
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

  // Revoking trust only takes an exception away: no fresh MFA asked.
  router.post('/devices/trusted/revoke-all', change(async (req, res) => {
    await trusted.revokeAll(auth(req).userId, requestContext(req), 'user');
    trustCookie.clear(req, res);
    notice(req, 'notice.trustRevokedAll');
    res.redirect(303, `${base}/devices`);
  }, showList));

  router.post('/devices/trusted/:id/revoke', change(async (req, res) => {
    const userId = auth(req).userId;
    const browser = (await trusted.list(userId)).find((b) => b.id === id(req));
    if (!browser || !(await trusted.revoke(userId, browser.id, requestContext(req), 'user'))) throw new NotFoundError('No such trusted browser.', 'browser');
    if (trustCookie.read(req, userId)?.id === browser.id) trustCookie.clear(req, res);
    notice(req, 'notice.trustRevoked', { browser: browser.label });
    res.redirect(303, `${base}/devices`);
  }, showList));

  router.post('/devices/:id/resend', change(async (req, res) => {
    const challenge = await devices.resend(auth(req).userId, id(req), requestContext(req));
    notice(req, 'notice.resent', { address: challenge.sentTo ?? '' });
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
    notice(req, 'notice.removed', { address: device.nickname || device.label || translateMethod(req, device.type) });
    res.redirect(303, `${base}/devices`);
  }, showList));
}
