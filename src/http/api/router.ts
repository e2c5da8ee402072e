import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { ForbiddenError, MfaRequiredError, NotFoundError, UnauthenticatedError, ValidationError } from '../../core/errors.js';
import { parseChallengeId, publicChallengeId } from '../../core/challenge-id.js';
import { publicChallenge } from '../../core/challenge-view.js';
import { requestContext } from '../context.js';
import type { HttpDeps } from '../deps.js';
import { mfaIsFresh, signedOn } from '../required.js';
import type { SignedOn } from '../session-state.js';
import type { SignOnFlow } from '../signon.js';
import { openApiDocument } from './openapi.js';
import { authenticationJson, deviceJson, devicesJson, trustedBrowsersJson } from './representations.js';
import { writeGuard } from './write-guard.js';

/** Whose devices a request works on, and as whom. */
interface Subject {
  userId: string;
  /** Working on another user's devices, with admin rights. */
  asAdmin: boolean;
  auth: SignedOn;
}

type Handler = (req: Request, res: Response, subject: Subject) => Promise<unknown>;

/**
 * The JSON API under basePath + '/api', shaped after PingOne's Devices and
 * deviceAuthentications APIs: a thin layer over the programmatic API.
 */
export function apiRouter<User>(deps: HttpDeps<User>, flow: SignOnFlow<User>): Router {
  const { devices, authentications, recovery, options, trusted, trustCookie } = deps;
  const permitted = (s: Subject) => options.policies.get(s.auth.policy)?.methods ?? [];
  /** How an authenticator app names the account: the address on the user's profile, else the user id. */
  const account = (req: Request, s: Subject) => (s.asAdmin ? undefined : options.user.email(req.user as User)) || s.userId;
  const router = express.Router();
  const document = openApiDocument(options.basePath, deps.methods.enabled());

  router.get('/openapi.json', (_req, res) => {
    res.json(document);
  });
  router.use(express.json({ limit: '16kb' }));
  router.use(writeGuard);

  async function self(req: Request): Promise<Subject> {
    const auth = signedOn(deps, req);
    if (!auth) throw new UnauthenticatedError();
    return { userId: auth.userId, asAdmin: false, auth };
  }

  async function other(req: Request): Promise<Subject> {
    const auth = signedOn(deps, req);
    if (!auth) throw new UnauthenticatedError();
    if (!options.admin || (await options.admin(req)) !== true) throw new ForbiddenError('Only an administrator may manage other users.');
    // A password alone (an administrator the policy let through, a stolen session of one) must neither change
    // another user's methods nor read them (their addresses are personal data): DESIGN asks a fresh MFA for both.
    if (options.adminRequiresMfa && !mfaIsFresh(deps, auth, options.recentMfaMs)) throw new MfaRequiredError();
    return { userId: String(req.params.userId), asAdmin: true, auth };
  }

  const route = (subject: (req: Request) => Promise<Subject>, handler: Handler) =>
    (req: Request, res: Response, next: NextFunction) => {
      subject(req)
        .then((s) => handler(req, res, s))
        .catch(next);
    };

  /** Adding or removing one's own method needs a recent MFA once there is a method to answer with. */
  async function requireRecentMfa(subject: Subject): Promise<void> {
    if (subject.asAdmin) return;
    if (await devices.changeNeedsMfa(subject.userId, mfaIsFresh(deps, subject.auth, options.recentMfaMs))) throw new MfaRequiredError();
  }

  const body = (req: Request) => (req.body ?? {}) as Record<string, unknown>;

  for (const [base, subject] of [['/devices', self], ['/users/:userId/devices', other]] as const) {
    router.get(base, route(subject, async (_req, res, s) => {
      res.json(devicesJson(await devices.list(s.userId)));
    }));

    router.post(base, route(subject, async (req, res, s) => {
      const fields = Object.fromEntries(deps.methods.createFields().map((f) => [f, body(req)[f]]));
      const input = { ...fields, type: body(req).type as string | undefined, nickname: body(req).nickname, account: account(req, s) };
      if (body(req).status !== undefined && body(req).status !== 'ACTIVATION_REQUIRED') {
        if (!s.asAdmin || body(req).status !== 'ACTIVE') throw new ValidationError("status may only be 'ACTIVE', and only for an administrator.", 'status');
        res.status(201).json(deviceJson(await devices.createActive(s.userId, input, requestContext(req))));
        return;
      }
      await requireRecentMfa(s);
      // A secret shown to an administrator would be a second factor that is not only the user's.
      if (s.asAdmin && !deps.methods.pairable(input.type).key) throw new ValidationError('An administrator cannot pair this method for a user: its owner pairs it.', 'type');
      const { device, pairing } = await devices.create(s.userId, input, requestContext(req));
      // What pairing needs (an app's secret, a passkey's creation options), in this answer only.
      const shown = Object.keys(deps.methods.get(device.type)?.api.created ?? {});
      res.status(201).json({ ...deviceJson(device), ...Object.fromEntries(shown.map((key) => [key, pairing?.[key]])) });
    }));

    router.post(`${base}/order`, route(subject, async (req, res, s) => {
      // A bare array is not `{ order }`: refused by reorder() as a missing order, not field by field.
      const { order, ...rest } = Array.isArray(req.body) ? {} : body(req);
      const unknown = Object.keys(rest)[0];
      if (unknown !== undefined) throw new ValidationError(`Unknown field ${unknown}: send order.`, unknown);
      // Not a change of methods (none is added or removed): no recent MFA asked, as for making one the default.
      res.json(devicesJson(await devices.reorder(s.userId, order, requestContext(req))));
    }));

    router.get(`${base}/:id`, route(subject, async (req, res, s) => {
      res.json(deviceJson(await devices.get(s.userId, String(req.params.id))));
    }));

    router.post(`${base}/:id/activate`, route(subject, async (req, res, s) => {
      const field = deps.methods.get((await devices.get(s.userId, String(req.params.id))).type)?.api.inputs.pairing ?? 'otp';
      res.json(deviceJson(await devices.activate(s.userId, String(req.params.id), body(req)[field], requestContext(req))));
    }));

    router.post(`${base}/:id/resend`, route(subject, async (req, res, s) => {
      const challenge = await devices.resend(s.userId, String(req.params.id), requestContext(req));
      res.json({ ...deviceJson(await devices.get(s.userId, String(req.params.id))), activation: { expiresAt: challenge.expiresAt!.toISOString() } });
    }));

    router.patch(`${base}/:id`, route(subject, async (req, res, s) => {
      const id = String(req.params.id);
      const { nickname, default: makeDefault, status, ...rest } = body(req);
      const unknown = Object.keys(rest)[0];
      if (unknown !== undefined) throw new ValidationError(`Unknown field ${unknown}: send nickname, default or status.`, unknown);
      if (makeDefault !== undefined && makeDefault !== true) throw new ValidationError('default can only be set to true.', 'default');
      if (status !== undefined) {
        if (!s.asAdmin) throw new ForbiddenError('Only an administrator may block or unblock a method.');
        if (status === 'BLOCKED') await devices.block(s.userId, id, requestContext(req));
        else if (status === 'ACTIVE') await devices.unblock(s.userId, id, requestContext(req));
        else throw new ValidationError("status must be 'BLOCKED' or 'ACTIVE'.", 'status');
      }
      if (nickname !== undefined || makeDefault === true) {
        await devices.update(s.userId, id, { nickname, default: makeDefault === true }, requestContext(req));
      }
      res.json(deviceJson(await devices.get(s.userId, id)));
    }));

    router.delete(`${base}/:id`, route(subject, async (req, res, s) => {
      await devices.get(s.userId, String(req.params.id));
      await requireRecentMfa(s);
      await devices.remove(s.userId, String(req.params.id), requestContext(req), { allowLast: s.asAdmin });
      res.status(204).end();
    }));
  }

  router.delete('/users/:userId/devices', route(other, async (req, res, s) => {
    await devices.removeAll(s.userId, requestContext(req));
    res.status(204).end();
  }));

  // Trusted browsers: revoking one only takes an exception away, so no fresh MFA is asked of the user.
  for (const [base, subject] of [['/trusted-browsers', self], ['/users/:userId/trusted-browsers', other]] as const) {
    router.get(base, route(subject, async (req, res, s) => {
      // Another user's browsers are never the administrator's own.
      const current = s.asAdmin ? undefined : trustCookie.read(req, s.userId)?.id;
      res.json(trustedBrowsersJson(await trusted.list(s.userId), current));
    }));

    router.delete(base, route(subject, async (req, res, s) => {
      await trusted.revokeAll(s.userId, requestContext(req), s.asAdmin ? 'admin' : 'user');
      if (!s.asAdmin) trustCookie.clear(req, res);
      res.status(204).end();
    }));
  }

  router.delete('/trusted-browsers/:id', route(self, async (req, res, s) => {
    const id = String(req.params.id);
    if (!(await trusted.revoke(s.userId, id, requestContext(req), 'user'))) throw new NotFoundError('No such trusted browser.', 'browser');
    if (trustCookie.read(req, s.userId)?.id === id) trustCookie.clear(req, res);
    res.status(204).end();
  }));

  router.post('/users/:userId/unlock', route(other, async (req, res, s) => {
    await authentications.unlock(s.userId, requestContext(req));
    res.status(204).end();
  }));

  router.post('/authentications', route(self, async (req, res, s) => {
    const requested = body(req).deviceId;
    if (requested === undefined && options.policies.get(s.auth.policy)?.deviceSelection === 'prompt') {
      const choices = await authentications.choices(s.userId, permitted(s));
      if (choices.length > 1) {
        res.json({ status: 'DEVICE_SELECTION_REQUIRED', ...devicesJson(await Promise.all(choices.map((d) => devices.get(s.userId, d.id)))) });
        return;
      }
    }
    const device = await authentications.pick(s.userId, requested, permitted(s));
    const prompt = await authentications.start(device, 'stepup', permitted(s), requestContext(req));
    const id = publicChallengeId(s.userId, { challengeId: prompt.challengeId, deviceId: device.id });
    res.status(201).json(authenticationJson(publicChallenge(device, 'stepup', prompt, id)));
  }));

  // `/otp` for a code, `/assertion` for a passkey: the device's method reads the field it answers with.
  const answerAuthentication = route(self, async (req, res, s) => {
    const { userId, target } = parseChallengeId(req.params.id);
    if (userId !== s.userId) throw new NotFoundError('No such authentication.');
    const { device, amr } = await authentications.answer(userId, target, body(req), 'stepup', permitted(s), requestContext(req));
    await flow.recordStepUp(req, req.user as User, { ...s.auth, amr: [...new Set([...s.auth.amr, ...amr])], mfaAt: deps.now() });
    res.json({ id: req.params.id, status: 'COMPLETED', device: { id: device.id, type: device.type }, completedAt: new Date(deps.now()).toISOString() });
  });
  router.post('/authentications/:id/otp', answerAuthentication);
  router.post('/authentications/:id/assertion', answerAuthentication);

  router.get('/recovery-codes', route(self, async (_req, res, s) => {
    res.json({ remaining: await recovery.remaining(s.userId) });
  }));

  // A new set replaces the old one as a whole: like adding a method, it needs a recent MFA once there is a method.
  router.post('/recovery-codes', route(self, async (req, res, s) => {
    await requireRecentMfa(s);
    res.status(201).json({ codes: await recovery.generate(s.userId, requestContext(req)) });
  }));

  router.use((_req: Request, _res: Response, next: NextFunction) => next(new NotFoundError('No such endpoint.')));
  router.use((error: unknown, req: Request, res: Response, _next: NextFunction) => deps.pages.error(req, res, error, 'json'));
  return router;
}
