import type { Request } from 'express';
import type { MethodRegistry } from '../methods/registry.js';
import type { DeviceRecord } from '../stores/types.js';

/** The library's own key in req.session. */
export const SESSION_KEY = 'mfa';

/** After the password step, before the policy is satisfied. Holds the serialized user reference only. */
export interface PendingSignOn {
  ref: unknown;
  userId: string;
  policy: string;
  startedAt: number;
  /** 'decide': the gate took back a login that skipped the policy; the policy still has to run. */
  stage: 'decide' | 'challenge' | 'enroll';
  /** The stored challenge of the code sent to `deviceId`; none for a device that makes its own codes. */
  challengeId?: string;
  /** The device prompted; none while the user is choosing one (deviceSelection 'prompt'). */
  deviceId?: string;
  /** What the page hands the browser to answer the prompt (a passkey's WebAuthn request options: no secret). */
  options?: Record<string, unknown>;
  /** The address on the user's profile, for pairing during sign-on. */
  profileEmail?: string | null;
  /** The active devices when the sign-on started, as the challenge page shows them. */
  devices?: DeviceChoice[];
  enrollDeviceId?: string;
  /** How many recovery codes the user had when the sign-on started: the challenge page offers one when some. */
  recoveryCodes?: number;
  /** Where the route that started the sign-on sends the user once it completes (Passport's success options). */
  landing?: Landing;
}

/** Passport's success options of the route that started a sign-on, kept until it completes. */
export interface Landing {
  /** successRedirect, or successReturnToOrRedirect when `returnToFirst`. */
  redirect?: string;
  returnToFirst?: boolean;
  /** successMessage: added to req.session.messages once signed on. */
  message?: string;
  /** successFlash: given to req.flash(type, message) once signed on. */
  flash?: { type: string; message: string };
}

/** A device as the challenge page offers it: what identifies it partly hidden. */
export interface DeviceChoice {
  id: string;
  type: string;
  /** The nickname and the masked label; empty when the device has neither (the page names its method). */
  label: string;
  /** Prompting it sends a code. */
  sends: boolean;
  /** Prompting it begins a ceremony the browser answers (a passkey). */
  ceremony: boolean;
}

export function deviceChoice(methods: MethodRegistry, device: DeviceRecord): DeviceChoice {
  const { masked } = methods.describe(device);
  const label = device.nickname && masked ? `${device.nickname} (${masked})` : device.nickname || masked;
  const method = methods.get(device.type);
  return { id: device.id, type: device.type, label, sends: method?.sends ?? false, ceremony: method?.ceremony ?? false };
}

/** A sign-on that satisfied the policy. */
export interface SignedOn {
  userId: string;
  amr: string[];
  policy: string;
  /** When MFA was last completed in this session; null when the policy skipped it. */
  mfaAt: number | null;
}

/** A fresh MFA asked for by auth.required({ maxAge }) or a change to the user's methods. */
export interface StepUp {
  returnTo: string;
  challengeId?: string;
  deviceId?: string;
  options?: Record<string, unknown>;
}

export interface MfaSessionState {
  csrf?: string;
  pending?: PendingSignOn;
  auth?: SignedOn;
  stepUp?: StepUp;
  /** A one-time message for the next page: "A new code was sent.", or why a step failed. */
  flash?: Flash;
  /** The device being paired from "Your authentication methods". */
  pairing?: string;
}

type SessionBag = Record<string, unknown> & { returnTo?: unknown };

/** req.session as express-session leaves it; undefined when its store is down. */
export function sessionBag(req: Request): SessionBag | undefined {
  return (req as unknown as { session?: SessionBag }).session;
}

/** The library's state, or undefined when there is no session (a store that is down). */
export function readState(req: Request): MfaSessionState | undefined {
  return sessionBag(req)?.[SESSION_KEY] as MfaSessionState | undefined;
}

/** A pending sign-on ends this long after the password step, whatever happens to its codes. */
export const PENDING_MAX_AGE_MS = 30 * 60_000;

/** The pending sign-on, unless it has ended; an ended one is dropped. */
export function livePending(req: Request, now: number): PendingSignOn | undefined {
  const state = readState(req);
  const pending = state?.pending;
  if (!pending) return undefined;
  if (now - pending.startedAt <= PENDING_MAX_AGE_MS) return pending;
  delete state.pending;
  return undefined;
}

type Regenerate = (done: (err?: unknown) => void) => void;

/**
 * A new session id, keeping only returnTo (Passport's convention) of the old
 * session: whatever an id planted before the password step held, or could
 * later hold, stays with that old id.
 */
export function regenerateSession(req: Request): Promise<void> {
  const bag = sessionBag(req);
  const regenerate = (bag as { regenerate?: Regenerate } | undefined)?.regenerate;
  if (!bag || typeof regenerate !== 'function') {
    return Promise.reject(new Error('express-mfa: req.session is missing; mount express-session before express-mfa, and check that its store is up.'));
  }
  const returnTo = bag.returnTo;
  return new Promise((resolve, reject) =>
    regenerate.call(bag, (err) => {
      if (err) return reject(err);
      if (returnTo !== undefined) sessionBag(req)!.returnTo = returnTo;
      resolve();
    }),
  );
}

/** The library's state, created when missing; throws when there is no session at all. */
export function writeState(req: Request): MfaSessionState {
  const bag = sessionBag(req);
  if (!bag) throw new Error('express-mfa: req.session is missing; mount express-session before express-mfa, and check that its store is up.');
  let state = bag[SESSION_KEY] as MfaSessionState | undefined;
  if (!state) {
    state = {};
    bag[SESSION_KEY] = state;
  }
  return state;
}

/** An error as a page shows it: translated when the page is rendered, in the reader's language. */
export interface ErrorNote {
  code: string;
  key: string;
  vars: Record<string, string | number | null | undefined>;
  field?: string;
}

export type Flash = { notice: { key: string; vars: Record<string, string | number> } } | { error: ErrorNote };

/** Takes the one-time message, if any. */
export function takeFlash(req: Request): Flash | undefined {
  const state = readState(req);
  const flash = state?.flash;
  if (state && flash !== undefined) delete state.flash;
  return flash;
}
