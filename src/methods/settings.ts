import { fail, isObject } from '../config/checks.js';
import type { Duration } from '../duration.js';
import type { MethodSettings } from './method.js';

/** The device authentication policy options every method takes. */
export interface CommonMethodOptions {
  /** Off: the method's devices are neither offered nor accepted, and none can be paired. Default true. */
  enabled?: boolean;
  /** Devices already paired still answer; no new one can be paired. Default false. */
  pairingDisabled?: boolean;
  /** Ask for a nickname when pairing. Default true. */
  nickname?: boolean;
}

/** The options of a method whose codes are sent (email; SMS and voice later). */
export interface SentCodeOptions extends CommonMethodOptions {
  /** Digits in a code, 6 to 10. Default 6. */
  otpLength?: number;
  /** How long a code is valid. Default '10m'. */
  otpLifetime?: Duration;
  /** Wrong tries that kill a code. Default 3. */
  attemptsPerCode?: number;
  /** Wait before another code can be sent for the same challenge. Default '30s'. */
  resendCooldown?: Duration;
}

export const COMMON_KEYS = ['enabled', 'pairingDisabled', 'nickname'] as const;

/** The common part of a method's options, checked; `codeLength` is the method's own. */
export function commonSettings(where: string, value: Record<string, unknown>, codeLength: number): MethodSettings {
  for (const key of COMMON_KEYS) {
    if (value[key] !== undefined && typeof value[key] !== 'boolean') fail(`${where}.${key} must be true or false.`);
  }
  return {
    enabled: (value.enabled as boolean | undefined) ?? true,
    pairingDisabled: (value.pairingDisabled as boolean | undefined) ?? false,
    nickname: (value.nickname as boolean | undefined) ?? true,
    codeLength,
  };
}

export function methodObject(where: string, value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (!isObject(value)) fail(`${where} must be an object.`);
  return value;
}
