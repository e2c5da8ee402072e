import { checkKeys, fail } from '../../config/checks.js';
import type { MethodSettings } from '../method.js';
import { COMMON_KEYS, commonSettings, methodObject, type CommonMethodOptions } from '../settings.js';

export interface TotpMethodOptions extends CommonMethodOptions {
  /** The issuer an authenticator app shows beside the account. Default: branding.productName, else 'express-mfa'. */
  issuer?: string;
}

export type ResolvedTotpMethod = MethodSettings & { issuer?: string };

const KEYS = [...COMMON_KEYS, 'issuer'] as const;

/** RFC 6238 as every authenticator app reads it: SHA-1, 6 digits, 30 s; only what users may set is an option. */
export function resolveTotpMethod(given: unknown): ResolvedTotpMethod {
  const value = methodObject('methods.totp', given);
  checkKeys('methods.totp.', value, KEYS);
  const { issuer } = value;
  // The issuer goes into the otpauth:// label, where a colon separates it from the account.
  if (issuer !== undefined && (typeof issuer !== 'string' || issuer.trim() === '' || /[:\r\n]/.test(issuer) || issuer.length > 64)) {
    fail("methods.totp.issuer must be a name of at most 64 characters without ':' on one line, such as 'Acme'.");
  }
  return { ...commonSettings('methods.totp', value, 6), ...(issuer === undefined ? {} : { issuer: issuer.trim() }) };
}
