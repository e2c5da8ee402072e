import { LockedError, MfaError, NotFoundError, OtpError, RateLimitError, ValidationError } from '../../core/errors.js';
import type { EventBus, RequestContext } from '../../core/events.js';
import { deviceStatusFor, lockoutRule, seconds, type UserLimits } from '../../core/rules.js';
import type { ChallengePurpose, ChallengeRecord, DeviceRecord, DeviceStatus, MfaStore } from '../../stores/types.js';
import { createHmac } from 'node:crypto';
import { generateCode, hashCode, newId, normalizeCode } from './code.js';

/** How a code method reaches its devices: email now, a phone's SMS or voice call later. */
export interface CodeChannel {
  /** Sends the code of a challenge of `purpose` to the device. */
  sendCode(device: DeviceRecord, purpose: ChallengePurpose, data: { code: string; minutes: number; nickname: string | null }, locale?: string): Promise<void>;
  /**
   * The recipient as one person's inbox or phone, however it is spelt: the
   * pairing codes it is sent are counted across every account.
   */
  recipient(device: DeviceRecord): string;
  /** Where a code went, partly hidden. */
  masked(device: DeviceRecord): string;
}

/** The per-method rules of a code: PingOne's OTP settings. */
export interface CodeSettings {
  otpLength: number;
  otpLifetimeMs: number;
  attemptsPerCode: number;
  resendCooldownMs: number;
}

/** A challenge as callers see it: never the code, never its hash. */
export interface Challenge {
  id: string;
  userId: string;
  deviceId: string;
  purpose: ChallengePurpose;
  status: 'OTP_REQUIRED' | 'COMPLETED';
  expiresAt: Date;
  /** Where the code went, partly hidden. */
  sentTo: string;
}

/** Sends codes through a channel and checks answers, with every limit enforced by the store. */
export class CodeChallenges {
  constructor(
    private readonly store: MfaStore,
    private readonly channel: CodeChannel,
    private readonly method: CodeSettings,
    private readonly limits: UserLimits,
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
    return view(record, this.channel.masked(device));
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
    return view(record, this.channel.masked(device));
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
    const result = await this.store.attemptChallenge(userId, challengeId, hash, lockoutRule(this.limits), now);
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

  /**
   * Pairing codes go to recipients nobody has proved yet: each has a send
   * quota of its own, shared by every account, so that no one can have the
   * server send codes to a stranger's inbox or phone without end. Codes for an
   * active device are bounded by the user's quota alone, so that strangers
   * pairing someone's address cannot stop that person's sign-on codes.
   */
  private async recipientQuota(device: DeviceRecord, purpose: ChallengePurpose, now: number): Promise<void> {
    if (purpose !== 'pairing') return;
    const recipient = createHmac('sha256', this.secret).update(`recipient\0${this.channel.recipient(device)}`).digest('base64url');
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
      await this.channel.sendCode(device, record.purpose, {
        code,
        minutes: Math.round(this.method.otpLifetimeMs / 60_000),
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

/** A code goes only to a device in the status its challenge needs: never to a blocked one. */
function usable(device: DeviceRecord, status: DeviceStatus): void {
  if (device.status !== status) {
    throw new ValidationError('This method cannot receive codes right now.', 'deviceId');
  }
}

/** A challenge whose code was just sent, waiting for its answer. */
function view(record: ChallengeRecord, sentTo: string): Challenge {
  return {
    id: record.id,
    userId: record.userId,
    deviceId: record.deviceId,
    purpose: record.purpose,
    status: 'OTP_REQUIRED',
    expiresAt: new Date(record.expiresAt),
    sentTo,
  };
}
