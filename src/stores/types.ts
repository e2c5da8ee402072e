/**
 * The store interface: everything express-mfa keeps between requests.
 *
 * Each method is one atomic step, so that many app instances sharing one
 * store cannot race one another past a limit: a burst of parallel guesses
 * gets no more tries than allowed, and one code cannot sign on twice.
 * Implementations return copies; callers never mutate stored state.
 */

/** Named by the method registry ('email', 'totp', …): the store keeps it and reads nothing into it. */
export type DeviceType = string;
export type DeviceStatus = 'ACTIVATION_REQUIRED' | 'ACTIVE' | 'BLOCKED';

export interface DeviceRecord {
  id: string;
  userId: string;
  type: DeviceType;
  /**
   * Whatever the device's method keeps (`{ email }` for an email device),
   * JSON-serialisable. The store reads none of it but what its atomic steps
   * check and set: `lastStep` (useTotpStep), `counter` and `lastUsedAt`
   * (useSignatureCounter), `credentialId` (activateCredential).
   */
  data: Record<string, unknown>;
  nickname: string | null;
  status: DeviceStatus;
  /**
   * The device's place in the user's list, lower first. The first ACTIVE
   * device in this order is the user's default (PingOne's rule).
   */
  order: number;
  createdAt: number;
  updatedAt: number;
  activatedAt: number | null;
  /** The pairing challenge that activates this device, while it is not active. */
  activationChallengeId: string | null;
}

/** A device to insert: the store gives it its place, last in the user's order. */
export type NewDeviceRecord = Omit<DeviceRecord, 'order'>;

export type DevicePatch = Partial<
  Pick<DeviceRecord, 'nickname' | 'status' | 'activatedAt' | 'activationChallengeId' | 'updatedAt'>
>;

/** What a code is for; a code answers only a challenge of its own purpose. */
export type ChallengePurpose = 'signon' | 'stepup' | 'pairing';

export interface ChallengeRecord {
  id: string;
  userId: string;
  deviceId: string;
  purpose: ChallengePurpose;
  /**
   * The status the device must be in for the code to count, set by whoever
   * made the challenge: the store compares, it does not know why.
   */
  deviceStatus: DeviceStatus;
  /** HMAC of the code, hex; the code itself is never stored. */
  hash: string;
  attempts: number;
  maxAttempts: number;
  createdAt: number;
  /** When the current code was sent; 0 when its delivery failed. */
  sentAt: number;
  expiresAt: number;
}

/** How many codes a user may be sent within a window. */
export interface SendQuota {
  limit: number;
  windowMs: number;
}

/** A fixed window's count after a `hit`: none running is `{ hits: 0, resetAt: now }`. */
export interface HitCount {
  hits: number;
  /** When the window ends, in ms since the epoch; a hit at or after it starts a new one. */
  resetAt: number;
}

/** After `threshold` failures within `windowMs`, the user is locked for `durationMs`. */
export interface LockoutRule {
  threshold: number;
  windowMs: number;
  durationMs: number;
}

export type SendResult = { ok: true } | { ok: false; retryAfterMs: number } | { ok: false; lockedUntil: number };

export type ResendResult =
  | { status: 'ok' }
  | { status: 'missing' }
  | { status: 'too_soon'; retryAfterMs: number }
  | { status: 'quota'; retryAfterMs: number }
  | { status: 'locked'; lockedUntil: number };

export type AttemptResult =
  | { status: 'ok'; challenge: ChallengeRecord }
  | { status: 'invalid'; remainingAttempts: number }
  | { status: 'missing' }
  | { status: 'expired' }
  | { status: 'exhausted' }
  /** The device the code was sent to is gone, or no longer in the challenge's `deviceStatus`. */
  | { status: 'device_gone' }
  /** `locked` tells whether this very attempt set the lock. */
  | { status: 'locked'; lockedUntil: number; locked?: boolean };

/** `locked` tells whether this very call set the lock. */
export type FailureResult = { status: 'counted' } | { status: 'locked'; lockedUntil: number; locked: boolean };

export type TotpStepResult =
  | { status: 'ok' }
  /** The step is not past the last one used on the device: a code answers once. Counted as a failure. */
  | { status: 'replayed' }
  /** The device is gone, or not in the status the caller asked for. */
  | { status: 'device_gone' }
  /** `locked` tells whether this very call (a replay) set the lock. */
  | { status: 'locked'; lockedUntil: number; locked: boolean };

export type RecoveryResult =
  | { status: 'ok'; remaining: number }
  | { status: 'invalid' }
  /** `locked` tells whether this very call (a miss) set the lock. */
  | { status: 'locked'; lockedUntil: number; locked: boolean };

/**
 * A WebAuthn ceremony (a registration or an authentication) begun for a
 * user: what its answer must match. Single use and short-lived, like a
 * code: the answer takes it, and a replay finds nothing.
 */
export interface CeremonyRecord {
  /** Random, given by the caller. */
  id: string;
  userId: string;
  /** The device being registered, or the one asked for; null: any of the user's passkeys. */
  deviceId: string | null;
  purpose: ChallengePurpose;
  /** The WebAuthn challenge (base64url), random, given by the caller. */
  challenge: string;
  /** Binds the ceremony to the session that began it: an HMAC of the session's own secret token, computed by the caller. */
  binding: string;
  createdAt: number;
  expiresAt: number;
}

export type CounterResult =
  | { status: 'ok' }
  /** The counter did not move forward: another authenticator may hold a copy of the credential. Nothing changed. */
  | { status: 'cloned' }
  /** The device is gone, or not in the status the caller asked for. */
  | { status: 'device_gone' };

export type ActivationResult =
  | { status: 'ok'; device: DeviceRecord }
  /** Another device of the user holds that credential. Nothing changed. */
  | { status: 'duplicate' }
  /** The device is gone, or not waiting for activation. */
  | { status: 'device_gone' };

/**
 * A browser the user chose to trust ("remember this browser"): while it is
 * trusted, a sign-on from it skips the second factor. Kept on the server, so
 * that the user can list and revoke them; the cookie holds the id and a
 * token that each use replaces, so that a copied cookie shows itself.
 */
export interface TrustedBrowserRecord {
  id: string;
  userId: string;
  /** What the user sees in the list, from the User-Agent ('Chrome on macOS'). */
  label: string;
  createdAt: number;
  lastUsedAt: number;
  expiresAt: number;
  /** HMAC (hex) of the cookie's current token; the token itself is never stored. */
  tokenHash: string;
}

export type TrustUseResult =
  | { status: 'ok'; browser: TrustedBrowserRecord }
  /** No such record, or it expired. */
  | { status: 'missing' }
  /** The token is not the current one: an old cookie replayed after rotation (a copy). The record is deleted in the same step, so that neither copy is trusted any more. */
  | { status: 'replayed' };

export interface MfaStore {
  /** The user's devices in their order (ties by creation, then id). */
  listDevices(userId: string): Promise<DeviceRecord[]>;
  getDevice(userId: string, deviceId: string): Promise<DeviceRecord | null>;
  /**
   * Adds the device unless the user already has `maxDevices`, last in the
   * user's order: `order` is one past the user's highest, given in the same
   * atomic step (so parallel inserts never share a place; an `order` the
   * caller sets is ignored). The stored device, or null at the limit.
   */
  insertDevice(device: NewDeviceRecord, maxDevices: number): Promise<DeviceRecord | null>;
  /** Patches an existing device; null when there is none. */
  updateDevice(userId: string, deviceId: string, patch: DevicePatch): Promise<DeviceRecord | null>;
  /**
   * Orders the user's devices as `ids`, first to last. Only a permutation of
   * the user's device ids is taken: anything else (a device missing, added
   * since the caller read the list, unknown or twice) answers false and
   * changes nothing.
   */
  orderDevices(userId: string, ids: string[]): Promise<boolean>;
  /**
   * Removes the device; returns what was removed, or null. With
   * `keepLastActive`, an ACTIVE device that is the user's only ACTIVE one is
   * kept (and null returned), in the same atomic step.
   */
  deleteDevice(userId: string, deviceId: string, options?: { keepLastActive?: boolean }): Promise<DeviceRecord | null>;

  /**
   * Stores a new challenge (kept for `ttlMs`) if the user is not locked and
   * the send quota allows one more code, and counts that send.
   */
  createChallenge(challenge: ChallengeRecord, ttlMs: number, quota: SendQuota, now: number): Promise<SendResult>;
  getChallenge(userId: string, challengeId: string): Promise<ChallengeRecord | null>;
  /**
   * Replaces the challenge's code (the old one stops working at once), resets
   * its attempts and expiry, if the user is not locked, the cooldown since the
   * last send has passed and the quota allows; counts the send.
   */
  replaceChallengeCode(
    userId: string,
    challengeId: string,
    next: { hash: string; expiresAt: number },
    ttlMs: number,
    rules: SendQuota & { cooldownMs: number },
    now: number,
  ): Promise<ResendResult>;
  /**
   * Undoes a resend whose mail could not be sent: when the challenge still
   * holds `undelivered`, puts back the previous code, expiry and attempts, and
   * clears the cooldown so that another resend is allowed at once.
   */
  restoreChallengeCode(
    userId: string,
    challengeId: string,
    undelivered: string,
    previous: { hash: string; expiresAt: number; attempts: number },
  ): Promise<void>;
  /**
   * One guess: refuses when the challenge is missing (whether or not the
   * user is locked, so that a forged id tells nothing), when the user is
   * locked, when the challenge is expired or out of attempts, or when its
   * device is gone or not in the challenge's `deviceStatus`; otherwise
   * spends an attempt, compares `hash` in constant time, deletes the
   * challenge on a match (returning it: a replay then finds nothing), and on
   * a miss counts a failure against the user, locking them per `lockout`.
   */
  attemptChallenge(
    userId: string,
    challengeId: string,
    hash: string,
    lockout: LockoutRule,
    now: number,
  ): Promise<AttemptResult>;
  deleteChallenge(userId: string, challengeId: string): Promise<void>;

  /**
   * One wrong answer that is no stored challenge (a wrong authenticator
   * code): refused when the user is locked; otherwise counted in the
   * failures window that attemptChallenge counts in, locking the user per
   * `lockout` at the threshold.
   */
  recordFailure(userId: string, lockout: LockoutRule, now: number): Promise<FailureResult>;

  /**
   * Spends the TOTP time step `step` on the device, so that a code answers
   * once: refuses when the user is locked; device_gone when the device is
   * missing or not in `status`; replayed when `step` is not past the
   * device's `data.lastStep` (none: any step passes), which counts as a
   * failure like a wrong code (locked, when it locks the user); otherwise
   * sets `data.lastStep` to `step`, forgets the user's counted failures, ok.
   */
  useTotpStep(userId: string, deviceId: string, step: number, status: DeviceStatus, lockout: LockoutRule, now: number): Promise<TotpStepResult>;

  /**
   * Replaces the user's recovery codes, given only as their hashes, with
   * exactly `hashes` (none: the user has no codes): the old set stops
   * working at once.
   */
  replaceRecoveryCodes(userId: string, hashes: string[]): Promise<void>;
  /** How many of the user's recovery codes are still unused. */
  countRecoveryCodes(userId: string): Promise<number>;
  /**
   * One recovery code, given as its hash: refused when the user is locked;
   * on a match (compared in constant time) removes that hash, so that the
   * code answers once, and forgets the user's counted failures; a miss
   * counts a failure, locking the user per `lockout`.
   */
  useRecoveryCode(userId: string, hash: string, lockout: LockoutRule, now: number): Promise<RecoveryResult>;

  /**
   * Keeps the ceremony until it is taken, for `ttlMs` at most; one of the
   * same id is replaced.
   */
  saveCeremony(ceremony: CeremonyRecord, ttlMs: number): Promise<void>;
  /**
   * Takes the ceremony once: returns it and deletes it in the same atomic
   * step, so that of parallel takes one gets it and the rest find null, as a
   * second take does. An expired one (`now` at or past its `expiresAt`)
   * answers null, and is taken all the same.
   */
  takeCeremony(userId: string, ceremonyId: string, now: number): Promise<CeremonyRecord | null>;

  /**
   * Records a WebAuthn assertion's signature counter on the device
   * (`data.counter`; none stored counts as 0), refusing one that did not
   * move forward: when both the stored and the new counter are 0 the
   * authenticator keeps no counter (passkeys in sync services), ok;
   * otherwise `counter` must be greater than the stored one, else cloned
   * (and nothing changes). device_gone when the device is missing or not in
   * `status`. On ok also sets `data.lastUsedAt` to `now`. One atomic step, so
   * that of parallel assertions with one counter only one passes.
   */
  useSignatureCounter(userId: string, deviceId: string, counter: number, status: DeviceStatus, now: number): Promise<CounterResult>;

  /**
   * Activates a device waiting for activation with the credential its
   * registration made: merges `data` into the device's data (the fields not
   * given stay), sets status ACTIVE, `activatedAt` and `updatedAt` to `now`,
   * `activationChallengeId` to null; unless another device of the same user
   * (whatever its status) already has `data.credentialId` equal to the given
   * one: duplicate, and nothing changes. device_gone when the device is
   * missing or not ACTIVATION_REQUIRED. One atomic step, so that two parallel
   * registrations of one authenticator cannot both land. Credential ids are
   * unique per user only: another user may hold the same one.
   */
  activateCredential(
    userId: string,
    deviceId: string,
    data: Record<string, unknown> & { credentialId: string },
    now: number,
  ): Promise<ActivationResult>;

  /**
   * Removes every challenge sent to the device and every ceremony for it (it
   * was blocked or removed), so that none answers again should the device
   * come back. A ceremony for any of the user's passkeys (no device) stays.
   */
  deleteDeviceChallenges(userId: string, deviceId: string): Promise<void>;

  /** Stores a trusted browser, kept until its expiresAt (TTL in Redis). */
  saveTrustedBrowser(browser: TrustedBrowserRecord): Promise<void>;
  /** The user's unexpired trusted browsers, most recently used first. */
  listTrustedBrowsers(userId: string, now: number): Promise<TrustedBrowserRecord[]>;
  /**
   * One use of a trusted browser's cookie, atomic: when `tokenHash` is the record's current one and it has not
   * expired, replaces it with `nextTokenHash`, sets lastUsedAt = now, and returns the record as it is now;
   * a wrong token deletes the record ('replayed'); none or expired: 'missing'.
   */
  useTrustedBrowser(userId: string, browserId: string, tokenHash: string, nextTokenHash: string, now: number): Promise<TrustUseResult>;
  /** Deletes one; whether it was there. */
  deleteTrustedBrowser(userId: string, browserId: string): Promise<boolean>;
  /** Deletes every trusted browser of the user; how many. */
  deleteTrustedBrowsers(userId: string): Promise<number>;

  /**
   * Counts one use of a quota shared by every user (sends to one recipient,
   * say) under `key`, unless `quota.limit` uses were counted within the window.
   */
  consumeQuota(scope: string, key: string, quota: SendQuota, now: number): Promise<SendResult>;

  /**
   * Adds `delta` (a whole number) to the count of (`scope`, `key`) in a fixed
   * window, and answers the count and when its window ends, in one atomic
   * step: of N parallel hits of 1, each sees a different count, 1 to N.
   * A window runs while `now` is before its `resetAt`. With none running, a
   * positive delta starts one at `now` (count `delta`, `resetAt` now +
   * `windowMs`), and a delta of 0 or less changes nothing. In a running
   * window the count never goes below 0, and the window ends at once when
   * it reaches 0 (so `-count` or less forgets the key). A count of 0 answers
   * `{ hits: 0, resetAt: now }`. Unlike consumeQuota it never refuses: the
   * caller compares the count with its limit. Kept no longer than the
   * window (a TTL in Redis).
   */
  hit(scope: string, key: string, delta: number, windowMs: number, now: number): Promise<HitCount>;

  /**
   * The user's security stamp: a random value that every "verified recently"
   * proof of the user is bound to, so that renewing it ends them all. Created
   * with `candidate` on first read, atomically, so that every instance reads
   * the same one.
   */
  getStamp(userId: string, candidate: string): Promise<string>;
  /** Replaces the user's security stamp. */
  renewStamp(userId: string, stamp: string): Promise<void>;

  /** When the user's MFA lock ends, or null when not locked. */
  getLock(userId: string, now: number): Promise<number | null>;
  /** Lifts a lock and forgets counted failures. */
  clearLock(userId: string): Promise<void>;
}
