import { checkKeys, duration, fail, integer } from '../../config/checks.js';
import type { CodeSettings } from '../code/challenges.js';
import type { MethodSettings } from '../method.js';
import { COMMON_KEYS, commonSettings, methodObject, type SentCodeOptions } from '../settings.js';
import { supportedCountry } from './number.js';
import type { CountryCode } from 'libphonenumber-js/min';

/** What the app's `send` is given: one text message, or one call that reads `text` out. */
export interface PhoneMessage {
  /** The number, in E.164 ('+33612345678'). */
  to: string;
  /** The code alone, for a gateway with templates of its own (Twilio Verify-style); empty for a notice. */
  code: string;
  /** The message in `locale`, code included: send this. */
  text: string;
  locale: string;
  /** 'notice': a message about the account (a method added or removed, a recovery code used), by text message only. */
  purpose: 'signon' | 'stepup' | 'pairing' | 'notice';
  channel: 'sms' | 'voice';
}

/** Sends one message through the app's gateway (Twilio, Vonage…); a throw is an outage (503, nothing signed on). */
export type PhoneSender = (message: PhoneMessage) => Promise<void> | void;

/** `methods.sms` and `methods.voice`: off until the app gives `send`. */
export interface PhoneMethodOptions extends SentCodeOptions {
  /** Sends the message: the app's SMS or voice gateway. Without it the method is off. */
  send?: PhoneSender;
  /** ISO 3166 alpha-2 country ('FR') of numbers typed without '+' and a country code. Default: none, '+' required. */
  defaultCountry?: string;
}

export type ResolvedPhoneMethod = MethodSettings & CodeSettings & { send?: PhoneSender; defaultCountry?: CountryCode };

const KEYS = [...COMMON_KEYS, 'otpLength', 'otpLifetime', 'attemptsPerCode', 'resendCooldown', 'send', 'defaultCountry'] as const;

export function resolvePhoneMethod(channel: 'sms' | 'voice', given: unknown): ResolvedPhoneMethod {
  const where = `methods.${channel}`;
  const value = methodObject(where, given);
  checkKeys(`${where}.`, value, KEYS);
  const { send, defaultCountry } = value;
  if (send !== undefined && typeof send !== 'function') fail(`${where}.send must be a function async ({ to, text }) => … that sends the ${channel === 'sms' ? 'text message' : 'call'} through your gateway.`);
  if (value.enabled === true && send === undefined) {
    fail(`${where}.enabled is true, but ${where}.send is missing: pass send: async ({ to, text }) => … that sends the ${channel === 'sms' ? 'text message' : 'call'} (Twilio, Vonage…), or leave the method off.`);
  }
  let country: CountryCode | undefined;
  if (defaultCountry !== undefined) {
    const code = typeof defaultCountry === 'string' ? defaultCountry.toUpperCase() : '';
    if (!/^[A-Z]{2}$/.test(code) || !supportedCountry(code)) fail(`${where}.defaultCountry must be a country's two-letter ISO 3166 code, such as 'FR' or 'US'.`);
    country = code;
  }
  const otpLength = integer(`${where}.otpLength`, value.otpLength, 6, 6, 10);
  const common = commonSettings(where, value, otpLength);
  return {
    ...common,
    // No gateway, no method: it cannot send a code.
    enabled: common.enabled && send !== undefined,
    ...(send === undefined && value.enabled !== false ? { offHint: `needs ${where}.send to be on` } : {}),
    otpLength,
    otpLifetimeMs: duration(`${where}.otpLifetime`, value.otpLifetime, 10 * 60_000, 30_000),
    attemptsPerCode: integer(`${where}.attemptsPerCode`, value.attemptsPerCode, 3, 1, 10),
    resendCooldownMs: duration(`${where}.resendCooldown`, value.resendCooldown, 30_000),
    ...(send === undefined ? {} : { send: send as PhoneSender }),
    ...(country === undefined ? {} : { defaultCountry: country }),
  };
}

export const resolveSmsMethod = (given: unknown) => resolvePhoneMethod('sms', given);
export const resolveVoiceMethod = (given: unknown) => resolvePhoneMethod('voice', given);
