import type { Logger } from './contracts.js';
import type { ResolvedLimits, ResolvedRateLimit } from './resolved.js';

export const DEFAULT_POLICY = 'default';

export const LIMIT_DEFAULTS: ResolvedLimits = {
  lockAfter: 10,
  lockWindowMs: 15 * 60_000,
  lockDurationMs: 15 * 60_000,
  sendLimit: 5,
  sendWindowMs: 15 * 60_000,
  recipientSendLimit: 5,
  maxDevices: 5,
};

/**
 * A sign-on takes one to three writes (an answer, a resend, "trust this
 * browser"), pairing a few more: 100 a minute lets an office behind one NAT
 * address sign dozens of people on each minute, and cuts a flood of a
 * thousand requests a second from one address to under two a second. The
 * per-user lockout, not this, is what stops guessing.
 */
export const RATE_LIMIT_DEFAULTS: ResolvedRateLimit = { limit: 100, windowMs: 60_000 };

/** `String(user.id)`, for the usual user object; anything else needs options.user.id. */
export function defaultId(user: unknown): string {
  const id = (user as { id?: unknown } | null)?.id;
  if ((typeof id === 'string' && id !== '') || (typeof id === 'number' && Number.isFinite(id)) || typeof id === 'bigint') return String(id);
  throw new TypeError("express-mfa: the user has no id field that is a string or a number; pass user: { id: (u) => String(u.yourIdField) } to mfa().");
}

export function defaultEmail(user: unknown): string | undefined {
  const email = (user as { email?: unknown } | null)?.email;
  return typeof email === 'string' ? email : undefined;
}

export const consoleLogger: Logger = {
  info: (message) => console.log(`[express-mfa] ${message}`),
  warn: (message) => console.warn(`[express-mfa] ${message}`),
  error: (message, error) => console.error(`[express-mfa] ${message}`, error ?? ''),
};
