import { LockedError, OtpError, ValidationError } from '../../core/errors.js';
import type { EventBus, RequestContext } from '../../core/events.js';
import type { Notices } from '../../core/notices.js';
import { lockoutRule, type UserLimits } from '../../core/rules.js';
import type { MfaStore } from '../../stores/types.js';
import { hashRecoveryCode, newRecoveryCodes, normalizeRecoveryCode } from './codes.js';

/** How many codes a set has. */
export const RECOVERY_SET_SIZE = 10;

/**
 * Recovery codes: a fallback of the user's, not a device. A set is made as a
 * whole (the old one stops working at once), shown once, and kept only as
 * HMACs with the library's secret; each code signs on once, atomically in
 * the store, and a wrong one counts toward the user's lockout like a wrong
 * one-time code.
 */
export class RecoveryCodeService {
  constructor(
    private readonly store: MfaStore,
    private readonly notices: Notices,
    private readonly limits: UserLimits,
    private readonly secret: Buffer,
    private readonly events: EventBus,
    private readonly now: () => number = Date.now,
  ) {}

  /** A new set of codes, replacing any earlier one. The codes are returned once: only their HMACs are kept. */
  async generate(userId: string, context: RequestContext = {}): Promise<string[]> {
    const codes = newRecoveryCodes(RECOVERY_SET_SIZE);
    await this.store.replaceRecoveryCodes(userId, codes.map((code) => hashRecoveryCode(this.secret, userId, code)));
    this.events.publish('recovery.generated', userId, context);
    return codes;
  }

  /** How many of the user's codes are still unused. */
  remaining(userId: string): Promise<number> {
    return this.store.countRecoveryCodes(userId);
  }

  /** Voids every code of the user (an administrator's reset). */
  async clear(userId: string): Promise<void> {
    await this.store.replaceRecoveryCodes(userId, []);
  }

  /**
   * Spends one code of the user. Resolves with how many are left; throws a
   * ValidationError for input that cannot be a code (not counted), an
   * OtpError INVALID_OTP for a wrong or spent code (counted toward the
   * lockout), or a LockedError.
   */
  async use(userId: string, input: unknown, context: RequestContext = {}): Promise<{ remaining: number }> {
    const normalized = normalizeRecoveryCode(input);
    if (normalized === undefined) throw new ValidationError('Enter a recovery code, such as abcd-efgh-jkmn.', 'recoveryCode');
    const result = await this.store.useRecoveryCode(userId, hashRecoveryCode(this.secret, userId, normalized), lockoutRule(this.limits), this.now());
    if (result.status === 'ok') {
      this.events.publish('recovery.used', userId, context);
      await this.notices.send(userId, 'recovery-used', { remaining: result.remaining, at: new Date(this.now()) }, context.locale);
      return { remaining: result.remaining };
    }
    if (result.status === 'locked') {
      if (result.locked) {
        this.events.publish('mfa.failed', userId, context, { reason: 'INVALID_OTP' });
        this.events.publish('user.locked', userId, context);
      }
      throw new LockedError(result.lockedUntil);
    }
    this.events.publish('mfa.failed', userId, context, { reason: 'INVALID_OTP' });
    throw new OtpError('INVALID_OTP', 'That recovery code is not right, or it was already used.', undefined, 'recovery');
  }
}
