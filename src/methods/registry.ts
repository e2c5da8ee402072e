import { checkKeys, fail, isObject } from '../config/checks.js';
import { ValidationError } from '../core/errors.js';
import type { DeviceRecord } from '../stores/types.js';
import { emailMethod } from './email/method.js';
import { resolveEmailMethod, type EmailMethodOptions, type ResolvedEmailMethod } from './email/options.js';
import type { AuthenticationMethod, DeviceDescription } from './method.js';
import { RECOVERY } from './recovery/codes.js';
import type { MethodServices } from './services.js';
import { fido2Method } from './fido2/method.js';
import { resolveFido2Method, type Fido2MethodOptions, type ResolvedFido2Method } from './fido2/options.js';
import { smsMethod, voiceMethod } from './phone/method.js';
import { resolveSmsMethod, resolveVoiceMethod, type PhoneMethodOptions, type ResolvedPhoneMethod } from './phone/options.js';
import { totpMethod } from './totp/method.js';
import { resolveTotpMethod, type ResolvedTotpMethod, type TotpMethodOptions } from './totp/options.js';

/** The device authentication policy per method: `methods: { email: {…}, totp: {…} }`. */
export interface MethodsOptions {
  email?: EmailMethodOptions;
  totp?: TotpMethodOptions;
  fido2?: Fido2MethodOptions;
  /** Codes by text message, through the app's `send`. Off without one. */
  sms?: PhoneMethodOptions;
  /** Codes read out by a phone call, through the app's `send`. Off without one. */
  voice?: PhoneMethodOptions;
}

/** What a sign-on policy's `methods` names: a method, or recovery codes. */
export type MethodType = keyof MethodsOptions | typeof RECOVERY;

export interface ResolvedMethods {
  email: ResolvedEmailMethod;
  totp: ResolvedTotpMethod;
  fido2: ResolvedFido2Method;
  sms: ResolvedPhoneMethod;
  voice: ResolvedPhoneMethod;
}

/** Every method the library ships, in the order pages offer them: one line each. */
const METHODS = {
  email: { resolve: resolveEmailMethod, create: emailMethod },
  totp: { resolve: resolveTotpMethod, create: totpMethod },
  fido2: { resolve: resolveFido2Method, create: fido2Method },
  sms: { resolve: resolveSmsMethod, create: smsMethod },
  voice: { resolve: resolveVoiceMethod, create: voiceMethod },
} as const;

export function resolveMethods(given: unknown): ResolvedMethods {
  if (given !== undefined && !isObject(given)) fail(`methods must be an object: { ${Object.keys(METHODS).join(': {…}, ')}: {…} }.`);
  const value = given ?? {};
  checkKeys('methods.', value, Object.keys(METHODS));
  return {
    email: METHODS.email.resolve(value.email),
    totp: METHODS.totp.resolve(value.totp),
    fido2: METHODS.fido2.resolve(value.fido2),
    sms: METHODS.sms.resolve(value.sms),
    voice: METHODS.voice.resolve(value.voice),
  };
}

/** PingOne's newDeviceNotification: which methods tell the user of a method added or removed. */
export type NewDeviceNotification = 'NONE' | 'EMAIL_THEN_SMS' | 'SMS_THEN_EMAIL';

/** The routing of the account's notices, from the option: email then text messages, or the other way, or none. */
export function resolveNoticeRouting(value: unknown): { newDevice: string[]; account: string[] } {
  const routes: Record<NewDeviceNotification, string[]> = { NONE: [], EMAIL_THEN_SMS: ['email', 'sms'], SMS_THEN_EMAIL: ['sms', 'email'] };
  if (value !== undefined && (typeof value !== 'string' || !(value in routes))) {
    fail(`newDeviceNotification must be one of ${Object.keys(routes).map((k) => `'${k}'`).join(', ')}; got ${JSON.stringify(value)}.`);
  }
  // A recovery code used is always told, whatever the setting for new methods.
  return { newDevice: routes[(value as NewDeviceNotification | undefined) ?? 'EMAIL_THEN_SMS'], account: routes.EMAIL_THEN_SMS };
}

/** What a policy's `methods` may name: every method, and recovery codes (a fallback, not a device). */
export const PERMITTABLE = [...Object.keys(METHODS), RECOVERY];

/** The methods of one mfa() instance, by type. */
export class MethodRegistry {
  private readonly byType: Map<string, AuthenticationMethod>;

  constructor(methods: AuthenticationMethod[]) {
    this.byType = new Map(methods.map((m) => [m.type, m]));
  }

  static create(settings: ResolvedMethods, services: MethodServices): MethodRegistry {
    return new MethodRegistry([
      METHODS.email.create(settings.email, services),
      METHODS.totp.create(settings.totp, services),
      METHODS.fido2.create(settings.fido2, services),
      METHODS.sms.create(settings.sms, services),
      METHODS.voice.create(settings.voice, services),
    ]);
  }

  /** An enabled method, or undefined: a device of a disabled or unknown method neither answers nor is offered. */
  get(type: string): AuthenticationMethod | undefined {
    const method = this.byType.get(type);
    return method?.settings.enabled ? method : undefined;
  }

  /** How a device is shown, whether or not its method is on (it can still be listed and removed). */
  describe(device: DeviceRecord): DeviceDescription {
    return this.byType.get(device.type)?.describe(device) ?? { label: '', masked: '', fields: {} };
  }

  /** The method of a device; throws for a device whose method is off. */
  of(device: DeviceRecord): AuthenticationMethod {
    const method = this.get(device.type);
    if (!method) throw new ValidationError('This method is not available.', 'deviceId');
    return method;
  }

  /** The method a new device is paired with; the first one (email) when the input names none. */
  pairable(type: unknown): AuthenticationMethod {
    const name = type === undefined ? this.byType.keys().next().value : type;
    const method = typeof name === 'string' ? this.get(name) : undefined;
    const offered = this.pairableTypes();
    if (!method || method.settings.pairingDisabled) {
      throw new ValidationError(`type must be one of: ${offered.map((t) => `'${t}'`).join(', ')}.`, 'type', { types: offered.join(', ') });
    }
    return method;
  }

  pairableTypes(): string[] {
    return this.enabled().filter((m) => !m.settings.pairingDisabled).map((m) => m.type);
  }

  /** What adding a device of any method on reads beyond `type` and `nickname` (`email`, `phone`). */
  createFields(): string[] {
    return [...new Set(this.enabled().flatMap((m) => Object.keys(m.api.create)))];
  }

  enabled(): AuthenticationMethod[] {
    return [...this.byType.values()].filter((m) => m.settings.enabled);
  }

  /** The method that pairs during sign-on from the user's profile, if any is on. */
  signOnPairing(): AuthenticationMethod | undefined {
    return this.enabled().find((m) => m.profileField !== undefined && !m.settings.pairingDisabled);
  }
}
