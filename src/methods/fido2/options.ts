import { checkKeys, fail, oneOf } from '../../config/checks.js';
import type { MethodSettings } from '../method.js';
import { COMMON_KEYS, commonSettings, methodObject, type CommonMethodOptions } from '../settings.js';

export interface Fido2MethodOptions extends CommonMethodOptions {
  /** The name browsers show while registering ('Acme'). Default: branding.productName, else 'express-mfa'. */
  rpName?: string;
  /** The relying party id: your site's domain ('acme.test'), the same on every instance. Default: the request's host name. */
  rpId?: string;
  /** The origins assertions may come from ('https://acme.test'). Default: the request's own origin. */
  origins?: string[];
  /** Whether the authenticator must verify the user (PIN, biometrics). Default 'preferred'. */
  userVerification?: 'required' | 'preferred' | 'discouraged';
  /** Discoverable credentials (passkeys). Default 'preferred'. */
  residentKey?: 'required' | 'preferred' | 'discouraged';
  /** Attestation asked of the authenticator. Default 'none'. */
  attestation?: 'none' | 'direct';
}

export interface ResolvedFido2Method extends MethodSettings {
  rpName?: string;
  rpId?: string;
  origins?: string[];
  userVerification: 'required' | 'preferred' | 'discouraged';
  residentKey: 'required' | 'preferred' | 'discouraged';
  attestation: 'none' | 'direct';
  /** How long a ceremony may take, ms. */
  timeoutMs: number;
}

const KEYS = [...COMMON_KEYS, 'rpName', 'rpId', 'origins', 'userVerification', 'residentKey', 'attestation'] as const;
const LEVELS = ['required', 'preferred', 'discouraged'] as const;

export function resolveFido2Method(given: unknown): ResolvedFido2Method {
  const value = methodObject('methods.fido2', given);
  checkKeys('methods.fido2.', value, KEYS);
  const { rpName, rpId, origins } = value;
  if (rpName !== undefined && (typeof rpName !== 'string' || rpName.trim() === '' || /[\r\n]/.test(rpName))) fail("methods.fido2.rpName must be a name on one line, such as 'Acme'.");
  if (rpId !== undefined && (typeof rpId !== 'string' || !/^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/.test(rpId))) {
    fail("methods.fido2.rpId must be your site's domain in lower case, without scheme or port, such as 'acme.test'.");
  }
  if (origins !== undefined) {
    if (!Array.isArray(origins) || origins.length === 0) fail("methods.fido2.origins must be a non-empty array of origins, such as ['https://acme.test'].");
    for (const origin of origins) {
      let url: URL | undefined;
      try {
        url = typeof origin === 'string' ? new URL(origin) : undefined;
      } catch {
        url = undefined;
      }
      if (!url || url.origin !== origin || !(url.protocol === 'https:' || url.hostname === 'localhost' || url.hostname === '127.0.0.1')) {
        fail(`methods.fido2.origins: ${JSON.stringify(origin)} is not an origin; write 'https://host[:port]' with no path (http only for localhost).`);
      }
      if (typeof rpId === 'string' && url.hostname !== rpId && !url.hostname.endsWith(`.${rpId}`)) {
        fail(`methods.fido2.origins: ${origin} is not on methods.fido2.rpId ${rpId}: browsers refuse an RP ID that is not the origin's domain or a parent of it.`);
      }
    }
  }
  return {
    ...commonSettings('methods.fido2', value, 0),
    ...(rpName === undefined ? {} : { rpName: (rpName as string).trim() }),
    ...(rpId === undefined ? {} : { rpId: rpId as string }),
    ...(origins === undefined ? {} : { origins: origins as string[] }),
    userVerification: oneOf('methods.fido2.userVerification', value.userVerification, LEVELS, 'preferred'),
    residentKey: oneOf('methods.fido2.residentKey', value.residentKey, LEVELS, 'preferred'),
    attestation: oneOf('methods.fido2.attestation', value.attestation, ['none', 'direct'] as const, 'none'),
    timeoutMs: 5 * 60_000,
  };
}
