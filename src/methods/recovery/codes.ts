import { createHmac, randomInt } from 'node:crypto';

/** What a sign-on policy's `methods` names recovery codes by. */
export const RECOVERY = 'recovery';

// Crockford's base32 in lower case: no i, l, o or u, so nothing written
// down from a printout is misread. 32 symbols × 12 characters = 60 bits a
// code, uniform (randomInt), far beyond guessing within any attempt limit.
export const RECOVERY_CODE_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const GROUPS = 3;
const GROUP_LENGTH = 4;

const WELL_FORMED = new RegExp(`^[${RECOVERY_CODE_ALPHABET}]{${GROUPS * GROUP_LENGTH}}$`);
// Longer than any code with generous separators: not worth reading.
const MAX_INPUT_LENGTH = 64;

function group(characters: string): string {
  return characters.match(new RegExp(`.{${GROUP_LENGTH}}`, 'g'))!.join('-');
}

/** A fresh set of distinct codes, each `xxxx-xxxx-xxxx`, shown to the user once. */
export function newRecoveryCodes(count = 10): string[] {
  const codes = new Set<string>();
  while (codes.size < count) {
    let characters = '';
    for (let i = 0; i < GROUPS * GROUP_LENGTH; i++) characters += RECOVERY_CODE_ALPHABET[randomInt(RECOVERY_CODE_ALPHABET.length)];
    codes.add(group(characters));
  }
  return [...codes];
}

/**
 * The code as it was issued, from what someone typed: any case, spaces and
 * dashes anywhere, and the letters Crockford reads as digits (o as 0, i and
 * l as 1). Undefined for anything else.
 */
export function normalizeRecoveryCode(input: unknown): string | undefined {
  if (typeof input !== 'string' || input.length > MAX_INPUT_LENGTH) return undefined;
  const characters = input
    .toLowerCase()
    .replace(/[\s\p{Pd}]/gu, '')
    .replace(/o/g, '0')
    .replace(/[il]/g, '1');
  return WELL_FORMED.test(characters) ? group(characters) : undefined;
}

/**
 * The stored form of a normalized code: an HMAC with the library's secret,
 * bound to the user, so one user's code never answers for another and a copy
 * of the store alone is no help.
 */
export function hashRecoveryCode(secret: Buffer, userId: string, normalized: string): string {
  // The code has a fixed length and no NUL, so the user id cannot spill into it.
  return createHmac('sha256', secret).update(`recovery-code\0${userId}\0${normalized}`).digest('hex');
}
