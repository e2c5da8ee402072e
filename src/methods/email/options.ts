import { checkKeys, duration, fail, integer } from '../../config/checks.js';
import type { CodeSettings } from '../code/challenges.js';
import type { MethodSettings } from '../method.js';
import { COMMON_KEYS, commonSettings, methodObject, type SentCodeOptions } from '../settings.js';

export type EmailMethodOptions = SentCodeOptions;

export type ResolvedEmailMethod = MethodSettings & CodeSettings;

const KEYS = [...COMMON_KEYS, 'otpLength', 'otpLifetime', 'attemptsPerCode', 'resendCooldown'] as const;
/** The rules that hold for a user across methods, set here in earlier versions. */
const MOVED = ['lockAfter', 'lockWindow', 'lockDuration', 'sendLimit', 'sendWindow', 'recipientSendLimit', 'maxDevices'];

export function resolveEmailMethod(given: unknown): ResolvedEmailMethod {
  const value = methodObject('methods.email', given);
  const moved = Object.keys(value).find((key) => MOVED.includes(key));
  if (moved) fail(`methods.email.${moved} is a rule per user across methods now: write limits: { ${moved} } instead.`);
  checkKeys('methods.email.', value, KEYS);
  const otpLength = integer('methods.email.otpLength', value.otpLength, 6, 6, 10);
  return {
    ...commonSettings('methods.email', value, otpLength),
    otpLength,
    otpLifetimeMs: duration('methods.email.otpLifetime', value.otpLifetime, 10 * 60_000, 30_000),
    attemptsPerCode: integer('methods.email.attemptsPerCode', value.attemptsPerCode, 3, 1, 10),
    resendCooldownMs: duration('methods.email.resendCooldown', value.resendCooldown, 30_000),
  };
}
