import { LockedError, OtpError, ValidationError } from '../../core/errors.js';
import { deviceStatusFor, lockoutRule } from '../../core/rules.js';
import type { DeviceRecord } from '../../stores/types.js';
import type { AuthenticationMethod } from '../method.js';
import type { MethodServices } from '../services.js';
import type { ResolvedTotpMethod } from './options.js';
import { qrCodeSvg } from './qr.js';
import { createSecretBox, totpSecretBinding } from './secret-box.js';
import { formatSecretForManualEntry, matchTotpStep, newTotpSecret, totpKeyUri } from './totp.js';

export const TOTP = 'totp';

/**
 * An authenticator app (RFC 6238): the device is a secret shared with the
 * app, sealed at rest; its first code activates it, and each code answers
 * once per device, the last used time step moved forward in the store.
 */
export function totpMethod(settings: ResolvedTotpMethod, services: MethodServices): AuthenticationMethod {
  const box = createSecretBox(services.secret);
  const issuer = settings.issuer ?? services.branding.productName ?? 'express-mfa';
  const secretOf = (device: DeviceRecord) => box.open(String(device.data.secret), totpSecretBinding(device.userId, device.id));

  return {
    type: TOTP,
    amr: 'otp',
    settings,
    sends: false,
    newDevice: (_input, owner) => ({ secret: box.seal(newTotpSecret(), totpSecretBinding(owner.userId, owner.deviceId)) }),
    async pairing(device, account) {
      const secret = secretOf(device);
      const keyUri = totpKeyUri({ issuer, account, secret });
      return { show: { secret, keyUri, manualKey: formatSecretForManualEntry(secret), qrCode: await qrCodeSvg(keyUri, `${issuer}: ${account}`) } };
    },
    prompt: async () => ({}),
    async answer(device, _prompt, input, purpose, context) {
      const code = typeof input === 'string' ? input.replace(/[\s-]/g, '') : undefined;
      if (code === undefined || !/^\d{6}$/.test(code)) throw new ValidationError('Enter the 6-digit code.', 'otp', { length: 6 });
      const { store, events, now } = services;
      const at = now();
      const lockout = lockoutRule(services.limits);
      const step = matchTotpStep(secretOf(device), code, at);
      const result = step === null
        ? await store.recordFailure(device.userId, lockout, at)
        : await store.useTotpStep(device.userId, device.id, step, deviceStatusFor(purpose), lockout, at);
      if (result.status === 'ok') {
        events.publish('mfa.succeeded', device.userId, context, { deviceId: device.id });
        return;
      }
      const error = result.status === 'locked'
        ? new LockedError(result.lockedUntil)
        : result.status === 'device_gone'
          ? new OtpError('OTP_EXPIRED', 'This authenticator app is no longer available. Use another method.', undefined, 'device')
          : result.status === 'replayed'
            ? new OtpError('INVALID_OTP', 'That code was already used. Wait for the next code in your app.', undefined, 'replayed')
            : new OtpError('INVALID_OTP', 'That code is not right. Enter the code your authenticator app shows now.', undefined, 'app');
      events.publish('mfa.failed', device.userId, context, { reason: error.code, deviceId: device.id });
      if (result.status === 'locked' && result.locked) events.publish('user.locked', device.userId, context);
      throw error;
    },
    // Nothing of an app identifies it to the user: its nickname, or the method's name, does.
    describe: () => ({ label: '', masked: '', fields: {} }),
    api: {
      fields: {},
      create: {},
      createRequired: [],
      inputs: { pairing: 'otp', answer: 'otp' },
      answerSchema: { pairing: { type: 'string', pattern: '^[0-9 -]+$' }, answer: { type: 'string', pattern: '^[0-9 -]+$' } },
      created: {
        secret: { type: 'string', pattern: '^[A-Z2-7]+=*$', description: 'The shared secret in base32, for manual entry: in this answer only.' },
        keyUri: { type: 'string', pattern: '^otpauth://totp/', description: 'The otpauth:// URI an authenticator app reads from a QR code: in this answer only.' },
      },
    },
  };
}
