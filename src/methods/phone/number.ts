import { isSupportedCountry, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/min';
import { ValidationError } from '../../core/errors.js';

/** E.164: '+', a country code and at most 15 digits in all. */
export const E164 = /^\+[1-9][0-9]{6,14}$/;

export const PHONE_MESSAGE = 'Enter a phone number with its country code, such as +33 6 12 34 56 78.';

export function supportedCountry(code: string): code is CountryCode {
  return isSupportedCountry(code);
}

/**
 * A number as typed ('+33 6 12 34 56 78', '06 12 34 56 78' with a default
 * country of 'FR', '0033 6…') in E.164 ('+33612345678'), or a ValidationError
 * for the field `phone`. Only numbers valid by Google's metadata (the "min"
 * build of libphonenumber-js) pass: the right length for their country, in a
 * range that is given out. The min metadata cannot tell mobile numbers from
 * fixed lines in most countries, so a text message to a fixed line is the
 * app's gateway's refusal, not ours.
 */
export function parsePhoneNumber(input: unknown, defaultCountry?: CountryCode, field = 'phone'): string {
  const invalid = () => new ValidationError(PHONE_MESSAGE, field);
  if (typeof input !== 'string') throw invalid();
  const value = input.trim();
  // Digits, spaces, dots, dashes, brackets and one leading '+' only: no letters (vanity numbers), no extensions.
  if (value.length === 0 || value.length > 32 || !/^\+?[0-9 ().\-\u00a0]+$/.test(value)) throw invalid();
  const parsed = parsePhoneNumberFromString(value, defaultCountry ? { defaultCountry } : undefined);
  if (!parsed || !parsed.isValid() || parsed.ext || !E164.test(parsed.number)) throw invalid();
  return parsed.number;
}

/** '+33612345678' → '+33 6 12 34 56 78': the international format, for the number's owner. */
export function formatPhoneNumber(e164: string): string {
  return parsePhoneNumberFromString(e164)?.formatInternational() ?? e164;
}

/**
 * '+33612345678' → '+33 •• •• •• 78': the country code and the last two
 * digits; the digits between are hidden, one pair of dots for each two of
 * them, rounded down (at least one pair), so that the number's rough length
 * shows and nothing else.
 */
export function maskPhoneNumber(e164: string): string {
  const parsed = parsePhoneNumberFromString(e164);
  const country = parsed?.countryCallingCode ?? '';
  const national = parsed ? String(parsed.nationalNumber) : e164.slice(1);
  const hidden = Math.max(1, Math.floor((national.length - 2) / 2));
  return `+${country} ${Array.from({ length: hidden }, () => '••').join(' ')} ${national.slice(-2)}`;
}

/** '123456' → '1, 2, 3, 4, 5, 6': a code as a voice reads it, digit by digit. */
export function spokenCode(code: string): string {
  return code.split('').join(', ');
}
