import { generateSecret, verifySync } from 'otplib';

// The parameters every authenticator app understands; the key URI states them
// so that no app falls back to a default of its own.
const ALGORITHM = 'sha1';
const DIGITS = 6;
const PERIOD_SECONDS = 30;
// RFC 4226 §4 recommends a 160-bit shared secret.
const SECRET_BYTES = 20;

const WELL_FORMED_CODE = /^[0-9]{6}$/;

/** A fresh shared secret in base32, the form authenticator apps take. */
export function newTotpSecret(): string {
  return generateSecret({ length: SECRET_BYTES });
}

/**
 * The otpauth:// URI that the QR code carries. Written out rather than taken
 * from otplib's generateURI, which drops the default parameters and leaves a
 * colon in the issuer or account as it is, making the label ambiguous.
 * encodeURIComponent, not URLSearchParams: some apps show a '+' for a space.
 */
export function totpKeyUri({ issuer, account, secret }: { issuer: string; account: string; secret: string }): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`;
  const params = [
    `secret=${encodeURIComponent(secret)}`,
    `issuer=${encodeURIComponent(issuer)}`,
    `algorithm=${ALGORITHM.toUpperCase()}`,
    `digits=${DIGITS}`,
    `period=${PERIOD_SECONDS}`,
  ];
  return `otpauth://totp/${label}?${params.join('&')}`;
}

/**
 * The RFC 6238 time step, within `window` steps either side of `nowMs`, whose
 * code is `code`; null if none is. The caller keeps the step of the last
 * accepted code to refuse a replay, hence a step rather than a boolean.
 *
 * Synchronous: otplib's default crypto (@noble/hashes) computes HMACs
 * synchronously, so its verifySync needs no Promise and the caller can check
 * and record the step without an await in between. otplib compares each
 * candidate in constant time.
 */
export function matchTotpStep(secret: string, code: string, nowMs: number, window = 1): number | null {
  // otplib throws on a malformed token; anything that is not a code is simply a wrong answer.
  if (!WELL_FORMED_CODE.test(code)) return null;
  const result = verifySync({
    secret,
    token: code,
    algorithm: ALGORITHM,
    digits: DIGITS,
    period: PERIOD_SECONDS,
    epoch: Math.floor(nowMs / 1000),
    // In seconds: whole periods, so exactly `window` steps either side.
    epochTolerance: window * PERIOD_SECONDS,
  });
  // The functional verify is typed as a TOTP-or-HOTP result; only the TOTP one carries the step.
  return result.valid && 'timeStep' in result ? result.timeStep : null;
}

/** Groups of four, easier to copy into an app by hand than 32 characters in a row. */
export function formatSecretForManualEntry(secret: string): string {
  return (secret.match(/.{1,4}/g) ?? []).join(' ');
}
