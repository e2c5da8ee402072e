import { describe, expect, it } from 'vitest';
import { formatSecretForManualEntry, matchTotpStep, newTotpSecret, totpKeyUri } from '../../src/methods/totp/totp.js';
import { base32Decode, totpCode } from '../helpers/totp.js';

// RFC 6238 Appendix B: the SHA-1 seed "12345678901234567890" in base32.
const RFC_SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
const RFC_VECTORS: [seconds: number, eightDigits: string][] = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
];

const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const OTHER_SECRET = 'KRUGKIDROVUWG2ZAMJZG653OEBTG66BA';
// Mid-step, so neither neighbour is a rounding accident.
const NOW = 1_700_000_012_345;
const STEP = Math.floor(NOW / 30_000);
const at = (step: number) => step * 30_000;

describe('test helper totpCode', () => {
  it.each(RFC_VECTORS)('gives the RFC 6238 code at %is', (seconds, code) => {
    expect(totpCode(RFC_SECRET, seconds * 1000, 8)).toBe(code);
    expect(totpCode(RFC_SECRET, seconds * 1000)).toBe(code.slice(-6));
  });

  it('decodes the RFC seed from base32', () => {
    expect(base32Decode(RFC_SECRET).toString('ascii')).toBe('12345678901234567890');
  });
});

describe('matchTotpStep', () => {
  it.each(RFC_VECTORS)('accepts the RFC 6238 code at %is and gives its step', (seconds, code) => {
    expect(matchTotpStep(RFC_SECRET, code.slice(-6), seconds * 1000)).toBe(Math.floor(seconds / 30));
  });

  it('accepts the current code and gives the current step', () => {
    expect(matchTotpStep(SECRET, totpCode(SECRET, NOW), NOW)).toBe(STEP);
  });

  it('accepts the code of the step before and after, giving that step', () => {
    expect(matchTotpStep(SECRET, totpCode(SECRET, at(STEP - 1)), NOW)).toBe(STEP - 1);
    expect(matchTotpStep(SECRET, totpCode(SECRET, at(STEP + 1)), NOW)).toBe(STEP + 1);
  });

  it('refuses codes two steps away', () => {
    expect(matchTotpStep(SECRET, totpCode(SECRET, at(STEP - 2)), NOW)).toBeNull();
    expect(matchTotpStep(SECRET, totpCode(SECRET, at(STEP + 2)), NOW)).toBeNull();
  });

  it('takes the window asked for', () => {
    expect(matchTotpStep(SECRET, totpCode(SECRET, at(STEP - 1)), NOW, 0)).toBeNull();
    expect(matchTotpStep(SECRET, totpCode(SECRET, NOW), NOW, 0)).toBe(STEP);
    expect(matchTotpStep(SECRET, totpCode(SECRET, at(STEP + 2)), NOW, 2)).toBe(STEP + 2);
  });

  it('counts steps from the first millisecond of each', () => {
    expect(matchTotpStep(SECRET, totpCode(SECRET, at(STEP)), at(STEP), 0)).toBe(STEP);
    expect(matchTotpStep(SECRET, totpCode(SECRET, at(STEP)), at(STEP) - 1, 0)).toBeNull();
  });

  it.each(['', '12345', '1234567', '12345a', ' 123456', '123 456', '１２３４５６', '+12345', '1e5000'])(
    'refuses %j, which is not six digits',
    (code) => {
      expect(matchTotpStep(SECRET, code, NOW)).toBeNull();
    },
  );

  it('refuses the code of another secret', () => {
    const code = totpCode(OTHER_SECRET, NOW);
    expect([-1, 0, 1].map((delta) => totpCode(SECRET, at(STEP + delta)))).not.toContain(code);
    expect(matchTotpStep(SECRET, code, NOW)).toBeNull();
  });

  it('works with a secret from newTotpSecret', () => {
    const secret = newTotpSecret();
    expect(matchTotpStep(secret, totpCode(secret, NOW), NOW)).toBe(STEP);
  });
});

describe('newTotpSecret', () => {
  it('is 20 random bytes (160 bits) in base32', () => {
    const secret = newTotpSecret();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(base32Decode(secret)).toHaveLength(20);
    expect(newTotpSecret()).not.toBe(secret);
  });
});

describe('totpKeyUri', () => {
  it('is an otpauth URI with the label, secret, issuer and parameters', () => {
    const uri = totpKeyUri({ issuer: 'Acme Corp', account: 'ada@example.com', secret: SECRET });
    expect(uri).toBe(
      `otpauth://totp/Acme%20Corp:ada%40example.com?secret=${SECRET}&issuer=Acme%20Corp&algorithm=SHA1&digits=6&period=30`,
    );
    const url = new URL(uri);
    expect(url.protocol).toBe('otpauth:');
    expect(url.host).toBe('totp');
    expect(decodeURIComponent(url.pathname)).toBe('/Acme Corp:ada@example.com');
    expect(url.searchParams.get('secret')).toBe(SECRET);
    expect(url.searchParams.get('issuer')).toBe('Acme Corp');
    expect(url.searchParams.get('algorithm')).toBe('SHA1');
    expect(url.searchParams.get('digits')).toBe('6');
    expect(url.searchParams.get('period')).toBe('30');
  });

  it('encodes a colon, ampersand or question mark in the names so the label and query stay whole', () => {
    const url = new URL(totpKeyUri({ issuer: 'A:B&C', account: 'x?y:z', secret: SECRET }));
    expect(url.pathname).toBe('/A%3AB%26C:x%3Fy%3Az');
    expect(url.searchParams.get('issuer')).toBe('A:B&C');
    expect([...url.searchParams.keys()]).toEqual(['secret', 'issuer', 'algorithm', 'digits', 'period']);
  });
});

describe('formatSecretForManualEntry', () => {
  it('groups the secret by four', () => {
    expect(formatSecretForManualEntry(SECRET)).toBe('JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP');
    expect(formatSecretForManualEntry('ABCDEF')).toBe('ABCD EF');
    expect(formatSecretForManualEntry('')).toBe('');
  });
});
