import { createHmac, randomUUID } from 'node:crypto';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { DeviceExistsError, LockedError, OtpError, ValidationError } from '../../core/errors.js';
import type { RequestContext } from '../../core/events.js';
import { lockoutRule } from '../../core/rules.js';
import type { ChallengePurpose, DeviceRecord } from '../../stores/types.js';
import type { AuthenticationMethod } from '../method.js';
import type { MethodServices } from '../services.js';
import { authenticatorName } from './aaguids.js';
import type { ResolvedFido2Method } from './options.js';

export const FIDO2 = 'fido2';

/**
 * The session a ceremony belongs to. The app's own code (auth.challenges)
 * has none: its ceremonies are bound to no session, and so answer in none
 * of the library's routes, which always have one.
 */
const bindingOf = (context: RequestContext) => context.binding?.() ?? '';

const ENDED = () => new OtpError('OTP_EXPIRED', 'This passkey request has ended. Try again.', undefined, 'passkey');
const REFUSED = () => new OtpError('INVALID_OTP', 'This passkey was not accepted. Try again, or use another method.', undefined, 'passkey');

/** The WebAuthn response the browser sent: an object, or its JSON in a form field. */
function responseOf(input: unknown, field: string): Record<string, unknown> {
  let value = input;
  if (typeof value === 'string' && value.length <= 64 * 1024) {
    try {
      value = JSON.parse(value);
    } catch {
      value = undefined;
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || typeof (value as { id?: unknown }).id !== 'string') {
    throw new ValidationError(`Send ${field}: the credential the browser returned, as JSON.`, field);
  }
  return value as Record<string, unknown>;
}

/**
 * Passkeys and security keys (WebAuthn, FIDO2), through @simplewebauthn/server:
 * a device is a credential's public key, proved by a registration
 * ceremony, answered by an assertion. Every ceremony is random, single use,
 * short-lived, bound to its user, its device and the session that began it,
 * and taken from the store atomically; the signature counter is checked and
 * moved forward atomically too, so that a cloned authenticator is refused.
 */
export function fido2Method(settings: ResolvedFido2Method, services: MethodServices): AuthenticationMethod {
  const { store, events, now } = services;
  const rpName = settings.rpName ?? services.branding.productName ?? 'express-mfa';
  const rpId = (context: RequestContext) => settings.rpId ?? context.host ?? 'localhost';
  const origins = (context: RequestContext) => settings.origins ?? (context.origin ? [context.origin] : []);
  // The user handle the authenticator keeps: stable per user, and not the app's user id itself.
  const userHandle = (userId: string) => new Uint8Array(createHmac('sha256', services.secret).update(`webauthn user\0${userId}`).digest());

  async function begin(userId: string, deviceId: string, purpose: ChallengePurpose, challenge: string, context: RequestContext): Promise<string> {
    const id = randomUUID();
    const at = now();
    await store.saveCeremony({ id, userId, deviceId, purpose, challenge, binding: bindingOf(context), createdAt: at, expiresAt: at + settings.timeoutMs }, settings.timeoutMs);
    return id;
  }

  /** The ceremony, taken once; refused unless it is this device's, of this purpose, in this session. */
  async function take(device: DeviceRecord, challengeId: string | undefined, purpose: ChallengePurpose, context: RequestContext) {
    if (challengeId === undefined) throw ENDED();
    const ceremony = await store.takeCeremony(device.userId, challengeId, now());
    if (!ceremony || ceremony.deviceId !== device.id || ceremony.purpose !== purpose || ceremony.binding !== bindingOf(context)) throw ENDED();
    return ceremony;
  }

  /** A refused answer counts toward the user's lockout, as a wrong code does. */
  async function refuse(device: DeviceRecord, context: RequestContext): Promise<never> {
    const result = await store.recordFailure(device.userId, lockoutRule(services.limits), now());
    const error = result.status === 'locked' ? new LockedError(result.lockedUntil) : REFUSED();
    events.publish('mfa.failed', device.userId, context, { reason: error.code, deviceId: device.id });
    if (result.status === 'locked' && result.locked) events.publish('user.locked', device.userId, context);
    throw error;
  }

  return {
    type: FIDO2,
    amr: 'hwk',
    settings,
    sends: false,
    ceremony: true,
    newDevice: () => ({}),

    async pairing(device, account, context) {
      const others = (await store.listDevices(device.userId)).filter((d) => d.type === FIDO2 && typeof d.data.credentialId === 'string');
      const options = await generateRegistrationOptions({
        rpName,
        rpID: rpId(context),
        userName: account,
        userID: userHandle(device.userId),
        timeout: settings.timeoutMs,
        attestationType: settings.attestation,
        // The same authenticator twice would be one factor counted as two.
        excludeCredentials: others.map((d) => ({ id: String(d.data.credentialId), transports: d.data.transports as string[] | undefined })),
        authenticatorSelection: { residentKey: settings.residentKey, userVerification: settings.userVerification },
      });
      const challengeId = await begin(device.userId, device.id, 'pairing', options.challenge, context);
      return { show: { publicKeyCredentialCreationOptions: options }, challengeId };
    },

    async prompt(device, purpose, context) {
      const options = await generateAuthenticationOptions({
        rpID: rpId(context),
        allowCredentials: [{ id: String(device.data.credentialId), transports: device.data.transports as string[] | undefined }],
        userVerification: settings.userVerification,
        timeout: settings.timeoutMs,
      });
      const challengeId = await begin(device.userId, device.id, purpose, options.challenge, context);
      return { challengeId, options: options as unknown as Record<string, unknown>, expiresAt: now() + settings.timeoutMs };
    },

    async answer(device, prompt, input, purpose, context) {
      if (purpose === 'pairing') {
        const response = responseOf(input, 'attestation') as unknown as RegistrationResponseJSON;
        const ceremony = await take(device, prompt.challengeId, 'pairing', context);
        const verified = await verifyRegistrationResponse({
          response,
          expectedChallenge: ceremony.challenge,
          expectedOrigin: origins(context),
          expectedRPID: rpId(context),
          requireUserVerification: settings.userVerification === 'required',
        }).catch(() => ({ verified: false as const }));
        if (!verified.verified) return refuse(device, context);
        const info = verified.registrationInfo;
        const activated = await store.activateCredential(device.userId, device.id, {
          credentialId: info.credential.id,
          publicKey: Buffer.from(info.credential.publicKey).toString('base64url'),
          counter: info.credential.counter,
          transports: info.credential.transports ?? [],
          aaguid: info.aaguid,
          backedUp: info.credentialBackedUp,
        }, now());
        if (activated.status === 'duplicate') throw new DeviceExistsError();
        if (activated.status === 'device_gone') throw ENDED();
        events.publish('mfa.succeeded', device.userId, context, { deviceId: device.id });
        // A key one plugs in or taps is a security key; one the device or a password manager keeps is a passkey.
        const external = (info.credential.transports ?? []).some((t) => t === 'usb' || t === 'nfc' || t === 'ble');
        const kind = external && info.credentialDeviceType !== 'multiDevice' ? 'Security key' : 'Passkey';
        return { amr: ['hwk', ...(info.userVerified ? ['user'] : [])], nickname: authenticatorName(info.aaguid) ?? kind };
      }

      const response = responseOf(input, 'assertion') as unknown as AuthenticationResponseJSON;
      const ceremony = await take(device, prompt.challengeId, purpose, context);
      if (response.id !== device.data.credentialId) return refuse(device, context);
      const verified = await verifyAuthenticationResponse({
        response,
        expectedChallenge: ceremony.challenge,
        expectedOrigin: origins(context),
        expectedRPID: rpId(context),
        // The counter is checked against the store below, atomically: here a stored 0 lets any value through.
        credential: { id: String(device.data.credentialId), publicKey: Buffer.from(String(device.data.publicKey), 'base64url'), counter: 0 },
        requireUserVerification: settings.userVerification === 'required',
      }).catch(() => ({ verified: false as const, authenticationInfo: undefined }));
      if (!verified.verified || !verified.authenticationInfo) return refuse(device, context);
      const counted = await store.useSignatureCounter(device.userId, device.id, verified.authenticationInfo.newCounter, 'ACTIVE', now());
      if (counted.status === 'cloned') {
        events.publish('device.cloned', device.userId, context, { deviceId: device.id });
        return refuse(device, context);
      }
      if (counted.status === 'device_gone') throw new OtpError('OTP_EXPIRED', 'This passkey is no longer available. Use another method.', undefined, 'device');
      events.publish('mfa.succeeded', device.userId, context, { deviceId: device.id });
      return { amr: ['hwk', ...(verified.authenticationInfo.userVerified ? ['user'] : [])] };
    },

    describe: () => ({ label: '', masked: '', fields: {} }),
    api: {
      fields: {},
      inputs: { pairing: 'attestation', answer: 'assertion' },
      create: {},
      createRequired: [],
      created: {
        publicKeyCredentialCreationOptions: { type: 'object', description: 'For navigator.credentials.create() (as JSON: @simplewebauthn/browser startRegistration({ optionsJSON })): in this answer only.' },
      },
      answerSchema: {
        pairing: { type: 'object', description: 'The RegistrationResponseJSON the browser returned.' },
        answer: { type: 'object', description: 'The AuthenticationResponseJSON the browser returned.' },
      },
    },
  };
}
