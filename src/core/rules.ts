import type { ResolvedLimits } from '../config/resolved.js';
import type { ChallengePurpose, DeviceStatus, LockoutRule } from '../stores/types.js';

/** The rules per user across methods: lockout, sends, how many methods. */
export type UserLimits = ResolvedLimits;

/**
 * The status a device must be in for an answer of this purpose to count: a
 * pairing answer proves a device that is not active yet, any other needs an
 * active one. Decided here once, for every method; the store only compares.
 */
export function deviceStatusFor(purpose: ChallengePurpose): DeviceStatus {
  return purpose === 'pairing' ? 'ACTIVATION_REQUIRED' : 'ACTIVE';
}

/** The user's lockout as the store applies it: every wrong answer of every method counts in one window. */
export function lockoutRule(limits: UserLimits): LockoutRule {
  return { threshold: limits.lockAfter, windowMs: limits.lockWindowMs, durationMs: limits.lockDurationMs };
}

export function seconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
