import type { EmailSender } from '../../delivery/email.js';
import { maskEmailAddress } from '../email/address.js';
import { LockedError, MfaError, NotFoundError, OtpError, RateLimitError, ValidationError } from '../../core/errors.js';
import type { EventBus, RequestContext } from '../../core/events.js';
import type { ResolvedEmailMethod, ResolvedLimits } from '../../config/resolved.js';
import { emailOf } from '../email/data.js';
import type { ChallengePurpose, ChallengeRecord, DeviceRecord, DeviceStatus, MfaStore } from '../../stores/types.js';
import { createHmac } from 'node:crypto';
import { generateCode, hashCode, newId, normalizeCode } from './code.js';

/** A challenge as callers see it: never the code, never its hash. */
export interface Challenge {
  id: string;
  userId: string;
  deviceId: string;
  purpose: ChallengePurpose;
  status: 'OTP_REQUIRED' | 'COMPLETED';
  expiresAt: Date;
  /** The masked address the code went to. */
  sentTo: string;
}

const EMAIL_KIND = { signon: 'signon', stepup: 'stepup', pairing: 'pairing' } as const;

/** Sends codes and checks answers, with every limit enforced by the store. */
export class ChallengeService {
  constructor(
    private readonly store: MfaStore,
    private readonly sender: EmailSender,
    private readonly method: ResolvedEmailMethod,
    private readonly limits: ResolvedLimits,
    private readonly secret: Buffer,
    private readonly events: EventBus,
    private readonly now: () => number = Date.now,
  ) {}

  /** Sends a fresh code to the device for `purpose`. */
  async start(device: DeviceRecord, purpose: ChallengePurpose, context: RequestContext = {}): Promise<Challenge> {
    const deviceStatus = deviceStatusFor(purpose);
    usable(device, deviceStatus);
    const now = this.now();
    await this.recipientQuota(device, purpose, now);
    const id = newId();
    const code = generateCode(this.method.otpLength);
    const record: ChallengeRecord = {
      id,
      userId: device.userId,
      deviceId: device.id,
      purpose,
      deviceStatus,
      hash: hashCode(this.secret, { userId: device.userId, challengeId: id, purpose }, code),
      attempts: 0,
      maxAttempts: this.method.attemptsPerCode,
      createdAt: now,
      sentAt: now,
      expiresAt: now + this.method.otpLifetimeMs,
    };
    const sent = await this.store.createChallenge(record, this.ttl(), this.quota(), now);
    if (!sent.ok) {
      throw 'lockedUntil' in sent ? new LockedError(sent.lockedUntil) : new RateLimitError('SEND_LIMIT_EXCEEDED', seconds(sent.retryAfterMs));
    }
    await this.deliver(record, device, code, context, () => this.store.deleteChallenge(device.userId, id));
    return view(record, device);
  }

  /** Sends a new code for the same challenge; the previous code stops working. */
  async resend(device: DeviceRecord, challengeId: string, context: RequestContext = {}): Promise<Challenge> {
    const now = this.now();
    const current = await this.store.getChallenge(device.userId, challengeId);
    if (!current || current.deviceId !== device.id) throw new NotFoundError('This sign-on has ended. Please sign on again.', 'ended');
    usable(device, current.deviceStatus);
    await this.recipientQuota(device, current.purpose, now);
    const code = generateCode(this.method.otpLength);
    const hash = hashCode(this.secret, { userId: device.userId, challengeId, purpose: current.purpose }, code);
    const expiresAt = now + this.method.otpLifetimeMs;
    const result = await this.store.replaceChallengeCode(
      device.userId,
      challengeId,
      { hash, expiresAt },
      this.ttl(),
      { ...this.quota(), cooldownMs: this.method.resendCooldownMs },
      now,
    );
    switch (result.status) {
      case 'missing':
        throw new NotFoundError('This sign-on has ended. Please sign on again.', 'ended');
      case 'too_soon':
        throw new RateLimitError('RESEND_TOO_SOON', seconds(result.retryAfterMs));
      case 'quota':
        throw new RateLimitError('SEND_LIMIT_EXCEEDED', seconds(result.retryAfterMs));
      case 'locked':
        throw new LockedError(result.lockedUntil);
    }
    const record = { ...current, hash, expiresAt, sentAt: now, attempts: 0 };
    await this.deliver(record, device, code, context, () =>
      this.store.restoreChallengeCode(device.userId, challengeId, hash, { hash: current.hash, expiresAt: current.expiresAt, attempts: current.attempts }),
    );
    return view(record, device);
  }

  /**
   * Checks an answer to the user's challenge of `purpose`. Resolves with the
   * completed challenge, or throws an OtpError, LockedError or ValidationError.
   */
  async verify(
    userId: string,
    challengeId: string,
    input: unknown,
    purpose: ChallengePurpose,
    context: RequestContext = {},
    /** For the audit event of a failure, which the store does not name. */
    deviceId?: string,
  ): Promise<ChallengeRecord> {
    const code = normalizeCode(input);
    if (code === undefined || code.length !== this.method.otpLength) {
      throw new ValidationError(`Enter the ${this.method.otpLength}-digit code.`, 'otp', { length: this.method.otpLength });
    }
    const now = this.now();
    const hash = hashCode(this.secret, { userId, challengeId, purpose }, code);
    const lockout = { threshold: this.limits.lockAfter, windowMs: this.limits.lockWindowMs, durationMs: this.limits.lockDurationMs };
    const result = await this.store.attemptChallenge(userId, challengeId, hash, lockout, now);
    if (result.status === 'ok') {
      this.events.publish('mfa.succeeded', userId, context, { deviceId: result.challenge.deviceId });
      return result.challenge;
    }
    const error = attemptError(result);
    // The store names no device on a failure; the audit event should.
    const failedDevice = deviceId ?? (await this.store.getChallenge(userId, challengeId))?.deviceId;
    this.events.publish('mfa.failed', userId, context, { reason: error.code, deviceId: failedDevice });
    if (result.status === 'locked' && result.locked) {
      this.events.publish('user.locked', userId, context);
    }
    throw error;
  }

  async get(userId: string, challengeId: string): Promise<ChallengeRecord | null> {
    return this.store.getChallenge(userId, challengeId);
  }

  async cancel(userId: string, challengeId: string): Promise<void> {
    await this.store.deleteChallenge(userId, challengeId);
  }

  /** Lifts the user's MFA lock (an admin helping a locked-out user). */
  async unlock(userId: string, context: RequestContext = {}): Promise<void> {
    await this.store.clearLock(userId);
    this.events.publish('user.unlocked', userId, context);
  }

  /**
   * Pairing codes go to addresses nobody has proved yet: each address has a
   * send quota of its own, shared by every account, so that no one can have
   * the server mail codes to a stranger's inbox without end. Codes for an
   * active device are bounded by the user's quota alone, so that strangers
   * pairing someone's address cannot stop that person's sign-on codes.
   */
  private async recipientQuota(device: DeviceRecord, purpose: ChallengePurpose, now: number): Promise<void> {
    if (purpose !== 'pairing') return;
    const recipient = createHmac('sha256', this.secret).update(`recipient\0${mailbox(emailOf(device))}`).digest('base64url');
    const counted = await this.store.consumeQuota('recipient', recipient, { limit: this.limits.recipientSendLimit, windowMs: this.limits.sendWindowMs }, now);
    if (!counted.ok) throw new RateLimitError('SEND_LIMIT_EXCEEDED', seconds('retryAfterMs' in counted ? counted.retryAfterMs : this.limits.sendWindowMs));
  }

  private async deliver(
    record: ChallengeRecord,
    device: DeviceRecord,
    code: string,
    context: RequestContext,
    undo: () => Promise<void>,
  ): Promise<void> {
    try {
      await this.sender.send(EMAIL_KIND[record.purpose], emailOf(device), {
        code,
        minutes: Math.round(this.method.otpLifetimeMs / 60_000),
        purpose: record.purpose,
        nickname: device.nickname,
      }, context.locale);
    } catch (error) {
      await undo();
      throw error;
    }
    this.events.publish('otp.sent', record.userId, context, { deviceId: device.id, reason: record.purpose });
  }

  // An expired record is kept a little past its expiry, so that a late answer
  // is told "expired" rather than "unknown". A used one is gone at once.
  private ttl(): number {
    return this.method.otpLifetimeMs + 5 * 60_000;
  }

  private quota() {
    return { limit: this.limits.sendLimit, windowMs: this.limits.sendWindowMs };
  }
}

function attemptError(result: Exclude<Awaited<ReturnType<MfaStore['attemptChallenge']>>, { status: 'ok' }>): MfaError {
  switch (result.status) {
    case 'invalid':
      return new OtpError(
        'INVALID_OTP',
        result.remainingAttempts > 0
          ? `That code is not right. ${result.remainingAttempts} ${result.remainingAttempts === 1 ? 'try' : 'tries'} left.`
          : 'That code is not right, and it cannot be used any more. Send a new code.',
        result.remainingAttempts,
        result.remainingAttempts > 0 ? undefined : 'last',
      );
    case 'exhausted':
      return new OtpError('TOO_MANY_ATTEMPTS', 'Too many wrong tries for this code. Send a new code.', 0);
    case 'expired':
    case 'missing':
      return new OtpError('OTP_EXPIRED', 'This code has expired or was already used. Send a new code.');
    case 'device_gone':
      return new OtpError('OTP_EXPIRED', 'The method this code was sent to is no longer available. Send a code to another one.', undefined, 'device');
    case 'locked':
      return new LockedError(result.lockedUntil);
  }
}

/** One inbox however it is spelt: case ignored, and a '+tag' too (name+1@ and name+2@ reach the same person). */
function mailbox(address: string): string {
  const lower = address.toLowerCase();
  const at = lower.lastIndexOf('@');
  const plus = lower.indexOf('+');
  return plus > 0 && plus < at ? lower.slice(0, plus) + lower.slice(at) : lower;
}

/**
 * The status a device must be in for a code of this purpose to count: a
 * pairing code proves a device that is not active yet, any other code needs
 * an active one. Decided here once; the store only compares.
 */
function deviceStatusFor(purpose: ChallengePurpose): DeviceStatus {
  return purpose === 'pairing' ? 'ACTIVATION_REQUIRED' : 'ACTIVE';
}

/** A code goes only to a device in the status its challenge needs: never to a blocked one. */
function usable(device: DeviceRecord, status: DeviceStatus): void {
  if (device.status !== status) {
    throw new ValidationError('This method cannot receive codes right now.', 'deviceId');
  }
}

function seconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/** A challenge whose code was just sent, waiting for its answer. */
function view(record: ChallengeRecord, device: DeviceRecord): Challenge {
  return {
    id: record.id,
    userId: record.userId,
    deviceId: record.deviceId,
    purpose: record.purpose,
    status: 'OTP_REQUIRED',
    expiresAt: new Date(record.expiresAt),
    sentTo: maskEmailAddress(emailOf(device)),
  };
}
