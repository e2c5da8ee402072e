/** Phone numbers (E.164 by libphonenumber-js), their masked form, the spoken code, and the options of methods.sms / methods.voice. */
import { describe, expect, it } from 'vitest';
import { resolveOptions } from '../../src/config/resolve.js';
import { ValidationError } from '../../src/core/errors.js';
import { maskPhoneNumber, parsePhoneNumber, formatPhoneNumber, spokenCode } from '../../src/methods/phone/number.js';
import { resolvePhoneMethod } from '../../src/methods/phone/options.js';

const send = async () => {};
const messageOf = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected a throw');
};

describe('phone numbers', () => {
  it('normalises to E.164: with +, with 00, or the national way with a default country', () => {
    expect(parsePhoneNumber('+33 6 12 34 56 78')).toBe('+33612345678');
    expect(parsePhoneNumber(' +33 (0)6.12.34.56.78 ')).toBe('+33612345678');
    expect(parsePhoneNumber('06 12 34 56 78', 'FR')).toBe('+33612345678');
    expect(parsePhoneNumber('0033 6 12 34 56 78', 'FR')).toBe('+33612345678');
    expect(parsePhoneNumber('+1 202-555-0143')).toBe('+12025550143');
    expect(parsePhoneNumber('+44 20 7946 0958')).toBe('+442079460958');
  });

  it('refuses what is not one valid number, for the field phone', () => {
    for (const bad of ['06 12 34 56 78', '+33 6 12 34', '+33 6 12 34 56 78 90', 'call me', '+33 6 12 34 56 78 ext. 5', '', 42, undefined, '+999 123 456 789', '+33 6\n12 34 56 78']) {
      const error = (() => {
        try {
          parsePhoneNumber(bad);
        } catch (e) {
          return e;
        }
      })();
      expect(error, String(bad)).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).field).toBe('phone');
      expect((error as ValidationError).message).toBe('Enter a phone number with its country code, such as +33 6 12 34 56 78.');
    }
  });

  it('masks all but the country code and the last two digits, a pair of dots per two hidden digits', () => {
    expect(maskPhoneNumber('+33612345678')).toBe('+33 •• •• •• 78');
    expect(maskPhoneNumber('+12025550143')).toBe('+1 •• •• •• •• 43');
    expect(maskPhoneNumber('+442079460958')).toBe('+44 •• •• •• •• 58');
    expect(formatPhoneNumber('+33612345678')).toBe('+33 6 12 34 56 78');
  });

  it('reads a code digit by digit', () => {
    expect(spokenCode('123456')).toBe('1, 2, 3, 4, 5, 6');
    expect(spokenCode('0042')).toBe('0, 0, 4, 2');
  });
});

describe('methods.sms and methods.voice', () => {
  it('are off without send, on with it, and take the sent-code options', () => {
    expect(resolvePhoneMethod('sms', undefined).enabled).toBe(false);
    expect(resolvePhoneMethod('voice', {}).enabled).toBe(false);
    expect(resolvePhoneMethod('sms', { send, enabled: false }).enabled).toBe(false);
    const sms = resolvePhoneMethod('sms', { send, defaultCountry: 'fr', otpLength: 8, otpLifetime: '5m', attemptsPerCode: 5, resendCooldown: '1m' });
    expect(sms).toMatchObject({ enabled: true, codeLength: 8, otpLength: 8, otpLifetimeMs: 300_000, attemptsPerCode: 5, resendCooldownMs: 60_000, defaultCountry: 'FR', send });
  });

  it('refuses at start-up what cannot work, saying what to change', () => {
    const start = (methods: unknown) => () => resolveOptions({ methods } as never, { NODE_ENV: 'test' });
    expect(() => start({ sms: { enabled: true } })()).toThrow(TypeError);
    expect(messageOf(start({ sms: { enabled: true } }))).toContain('methods.sms.enabled is true, but methods.sms.send is missing: pass send');
    expect(messageOf(start({ voice: { enabled: true } }))).toContain('methods.voice.send is missing');
    expect(messageOf(start({ sms: { send: 'twilio' } }))).toContain('methods.sms.send must be a function');
    for (const country of ['France', 'F', 'XX', 33]) {
      expect(() => start({ sms: { send, defaultCountry: country } })()).toThrow(TypeError);
      expect(messageOf(start({ sms: { send, defaultCountry: country } }))).toContain("methods.sms.defaultCountry must be a country's two-letter ISO 3166 code, such as 'FR'");
    }
    expect(messageOf(start({ sms: { send, otpLength: 4 } }))).toContain('methods.sms.otpLength');
    expect(messageOf(start({ sms: { send, from: '+33' } }))).toContain('unknown option methods.sms.from');
  });
});
