import type { Logger } from '../../config/contracts.js';
import type { ResolvedLimits } from '../../config/resolved.js';
import { LockedError, OtpError, ValidationError } from '../../core/errors.js';
import type { EventBus, RequestContext } from '../../core/events.js';
import type { EmailSender } from '../../delivery/email.js';
import type { MfaStore } from '../../stores/types.js';
import { emailOf } from '../email/data.js';
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
    private readonly sender: EmailSender,
    private readonly limits: ResolvedLimits,
    private readonly secret: Buffer,
    private readonly events: EventBus,
    private readonly logger: Logger,
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
    const lockout = { threshold: this.limits.lockAfter, windowMs: this.limits.lockWindowMs, durationMs: this.limits.lockDurationMs };
    const now = this.now();
    const result = await this.store.useRecoveryCode(userId, hashRecoveryCode(this.secret, userId, normalized), lockout, now);
    if (result.status === 'ok') {
      this.events.publish('recovery.used', userId, context);
      await this.notify(userId, result.remaining, context);
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

  /**
   * Tells the user's active addresses that a recovery code was used, so that
   * a use they did not make does not go unseen. The sign-on is done by now: a
   * failed notice is logged, not undone.
   */
  private async notify(userId: string, remaining: number, context: RequestContext): Promise<void> {
    const recipients = (await this.store.listDevices(userId)).filter((d) => d.status === 'ACTIVE').map(emailOf);
    const data = { remaining, at: new Date(this.now()) };
    await Promise.all(
      [...new Set(recipients)].map((to) =>
        this.sender.send('recovery-used', to, data, context.locale).catch((error) => this.logger.error(`could not send the recovery-used notice for user ${userId}`, error)),
      ),
    );
  }
}
