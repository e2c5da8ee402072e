import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  RECOVERY_CODE_ALPHABET,
  hashRecoveryCode,
  newRecoveryCodes,
  normalizeRecoveryCode,
} from '../../src/methods/recovery/codes.js';

const FORMAT = /^[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}$/;

describe('newRecoveryCodes', () => {
  it('gives ten distinct codes xxxx-xxxx-xxxx by default', () => {
    const codes = newRecoveryCodes();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(FORMAT);
  });

  it('gives the number asked for', () => {
    expect(newRecoveryCodes(3)).toHaveLength(3);
    expect(newRecoveryCodes(0)).toEqual([]);
  });

  it('has at least 50 bits of entropy: 12 characters from 32 symbols without look-alikes', () => {
    expect(RECOVERY_CODE_ALPHABET).toHaveLength(32);
    expect(new Set(RECOVERY_CODE_ALPHABET).size).toBe(32);
    expect(RECOVERY_CODE_ALPHABET).not.toMatch(/[ilou]/);
    const [code] = newRecoveryCodes(1) as [string];
    const characters = code.replaceAll('-', '').length;
    const bits = characters * Math.log2(RECOVERY_CODE_ALPHABET.length);
    expect(bits).toBe(60);
    expect(bits).toBeGreaterThanOrEqual(50);
  });

  it('draws every symbol about equally often', () => {
    // 12,000 draws: 375 expected per symbol, standard deviation about 19.
    const counts = new Map<string, number>();
    for (const code of newRecoveryCodes(1000)) {
      for (const char of code.replaceAll('-', '')) counts.set(char, (counts.get(char) ?? 0) + 1);
    }
    expect([...counts.keys()].sort().join('')).toBe(RECOVERY_CODE_ALPHABET);
    for (const count of counts.values()) {
      expect(count).toBeGreaterThan(250);
      expect(count).toBeLessThan(500);
    }
  });

  it('gives back each code unchanged from normalizeRecoveryCode', () => {
    for (const code of newRecoveryCodes()) expect(normalizeRecoveryCode(code)).toBe(code);
  });
});

describe('normalizeRecoveryCode', () => {
  it.each([
    ['upper case', 'ABCD-EFGH-JKMN', 'abcd-efgh-jkmn'],
    ['no dashes', 'abcdefghjkmn', 'abcd-efgh-jkmn'],
    ['spaces instead', ' abcd efgh jkmn ', 'abcd-efgh-jkmn'],
    ['dashes anywhere', 'ab-cd--ef-gh-jk-mn', 'abcd-efgh-jkmn'],
    ['a typographic dash and a tab', 'abcd\u2013efgh\tjkmn', 'abcd-efgh-jkmn'],
    ['o read as zero', 'oOoo-1234-5678', '0000-1234-5678'],
    ['i and l read as one', 'iIlL-1234-5678', '1111-1234-5678'],
  ])('accepts %s', (_name, input, expected) => {
    expect(normalizeRecoveryCode(input)).toBe(expected);
  });

  it.each([
    ['too short', 'abcd-efgh-jkm'],
    ['too long', 'abcd-efgh-jkmnp'],
    ['a u', 'abcd-efgh-jkmu'],
    ['a letter outside the alphabet', 'abcd-efgh-jkm!'],
    ['an underscore', 'abcd_efgh_jkmn'],
    ['empty', ''],
    ['only separators', '--- ---'],
    ['very long input', `${'-'.repeat(100)}abcdefghjkmn`],
    ['a number', 1234],
    ['undefined', undefined],
    ['an array', ['abcd-efgh-jkmn']],
  ])('refuses %s', (_name, input) => {
    expect(normalizeRecoveryCode(input)).toBeUndefined();
  });
});

describe('hashRecoveryCode', () => {
  const secret = randomBytes(32);
  const code = 'abcd-efgh-jkmn';

  it('is a hex HMAC-SHA256, the same for the same user and code', () => {
    expect(hashRecoveryCode(secret, 'user-1', code)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashRecoveryCode(secret, 'user-1', code)).toBe(hashRecoveryCode(secret, 'user-1', code));
  });

  it('matches however the code was typed, once normalized', () => {
    expect(hashRecoveryCode(secret, 'user-1', normalizeRecoveryCode('ABCD EFGH JKMN')!)).toBe(hashRecoveryCode(secret, 'user-1', code));
  });

  it("never matches another user's code", () => {
    expect(hashRecoveryCode(secret, 'user-2', code)).not.toBe(hashRecoveryCode(secret, 'user-1', code));
    expect(hashRecoveryCode(secret, 'user-1', 'abcd-efgh-jkmp')).not.toBe(hashRecoveryCode(secret, 'user-1', code));
  });

  it('depends on the secret', () => {
    expect(hashRecoveryCode(randomBytes(32), 'user-1', code)).not.toBe(hashRecoveryCode(secret, 'user-1', code));
  });
});
