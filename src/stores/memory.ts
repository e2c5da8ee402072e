import { timingSafeEqual } from 'node:crypto';
import { byOrder } from './order.js';
import { countIn, type Window } from './window.js';
import type {
  ActivationResult,
  AttemptResult,
  CeremonyRecord,
  ChallengeRecord,
  CounterResult,
  DevicePatch,
  DeviceRecord,
  DeviceStatus,
  FailureResult,
  HitCount,
  LockoutRule,
  MfaStore,
  NewDeviceRecord,
  RecoveryResult,
  ResendResult,
  SendQuota,
  SendResult,
  TotpStepResult,
  TrustedBrowserRecord,
  TrustUseResult,
} from './types.js';

interface UserState {
  devices: Map<string, DeviceRecord>;
  challenges: Map<string, { record: ChallengeRecord; dropAt: number }>;
  ceremonies: Map<string, { record: CeremonyRecord; dropAt: number }>;
  /** Dropped at their own expiresAt, as their Redis TTL drops them. */
  trusted: Map<string, TrustedBrowserRecord>;
  sends?: Window;
  failures?: Window;
  lockedUntil?: number;
  stamp?: string;
  /** Hashes of the unused recovery codes; never empty (no codes: undefined). */
  recoveryCodes?: string[];
}

export interface MemoryMfaStoreOptions {
  /** How often expired entries are swept. Default 60 s. */
  sweepIntervalMs?: number;
}

/**
 * Keeps MFA state in this process. Every method runs to completion without
 * awaiting, which is what makes each one atomic. For one process only: a
 * restart forgets paired devices, so production uses a shared store.
 */
export class MemoryMfaStore implements MfaStore {
  private readonly users = new Map<string, UserState>();
  private readonly quotas = new Map<string, Window>();
  private readonly hits = new Map<string, Window>();
  private readonly timer: NodeJS.Timeout;

  constructor(options: MemoryMfaStoreOptions = {}) {
    this.timer = setInterval(() => this.sweep(Date.now()), options.sweepIntervalMs ?? 60_000);
    this.timer.unref();
  }

  /** Stops the sweep timer. */
  close(): void {
    clearInterval(this.timer);
  }

  /** Drops expired challenges, ceremonies, trusted browsers, windows and locks, and users left with nothing (no devices, no recovery codes…). */
  sweep(now: number): void {
    for (const [userId, state] of this.users) {
      for (const [id, entry] of state.challenges) if (entry.dropAt <= now) state.challenges.delete(id);
      for (const [id, entry] of state.ceremonies) if (entry.dropAt <= now) state.ceremonies.delete(id);
      for (const [id, browser] of state.trusted) if (browser.expiresAt <= now) state.trusted.delete(id);
      if (state.sends && state.sends.endsAt <= now) state.sends = undefined;
      if (state.failures && state.failures.endsAt <= now) state.failures = undefined;
      if (state.lockedUntil !== undefined && state.lockedUntil <= now) state.lockedUntil = undefined;
      if (
        state.devices.size === 0 &&
        state.challenges.size === 0 &&
        state.ceremonies.size === 0 &&
        state.trusted.size === 0 &&
        !state.sends &&
        !state.failures &&
        state.lockedUntil === undefined &&
        state.stamp === undefined &&
        !state.recoveryCodes
      ) {
        this.users.delete(userId);
      }
    }
    for (const [key, window] of this.quotas) if (window.endsAt <= now) this.quotas.delete(key);
    for (const [key, window] of this.hits) if (window.endsAt <= now) this.hits.delete(key);
  }

  private state(userId: string): UserState {
    let state = this.users.get(userId);
    if (!state) {
      state = { devices: new Map(), challenges: new Map(), ceremonies: new Map(), trusted: new Map() };
      this.users.set(userId, state);
    }
    return state;
  }

  private liveChallenge(userId: string, challengeId: string, now: number): ChallengeRecord | undefined {
    const entry = this.users.get(userId)?.challenges.get(challengeId);
    if (!entry) return undefined;
    if (entry.dropAt <= now) {
      this.users.get(userId)!.challenges.delete(challengeId);
      return undefined;
    }
    return entry.record;
  }

  async listDevices(userId: string): Promise<DeviceRecord[]> {
    const devices = this.users.get(userId)?.devices;
    return devices ? [...devices.values()].map(copy).sort(byOrder) : [];
  }

  async getDevice(userId: string, deviceId: string): Promise<DeviceRecord | null> {
    const device = this.users.get(userId)?.devices.get(deviceId);
    return device ? copy(device) : null;
  }

  async insertDevice(device: NewDeviceRecord, maxDevices: number): Promise<DeviceRecord | null> {
    const state = this.state(device.userId);
    if (state.devices.size >= maxDevices) return null;
    const order = Math.max(-1, ...[...state.devices.values()].map((d) => d.order)) + 1;
    // A copy; `data` through JSON, as a shared store keeps it, so that what JSON cannot hold fails or changes here too.
    const stored: DeviceRecord = { ...device, data: JSON.parse(JSON.stringify(device.data)) as DeviceRecord['data'], order };
    state.devices.set(device.id, stored);
    return copy(stored);
  }

  async updateDevice(userId: string, deviceId: string, patch: DevicePatch): Promise<DeviceRecord | null> {
    const device = this.users.get(userId)?.devices.get(deviceId);
    if (!device) return null;
    Object.assign(device, patch);
    return copy(device);
  }

  async orderDevices(userId: string, ids: string[]): Promise<boolean> {
    const devices = this.users.get(userId)?.devices ?? new Map<string, DeviceRecord>();
    const permutation = ids.length === devices.size && new Set(ids).size === ids.length && ids.every((id) => devices.has(id));
    if (!permutation) return false;
    ids.forEach((id, order) => (devices.get(id)!.order = order));
    return true;
  }

  async deleteDevice(userId: string, deviceId: string, options: { keepLastActive?: boolean } = {}): Promise<DeviceRecord | null> {
    const devices = this.users.get(userId)?.devices;
    const device = devices?.get(deviceId);
    if (!devices || !device) return null;
    if (options.keepLastActive && device.status === 'ACTIVE' && ![...devices.values()].some((d) => d !== device && d.status === 'ACTIVE')) return null;
    devices.delete(deviceId);
    return copy(device);
  }

  async createChallenge(challenge: ChallengeRecord, ttlMs: number, quota: SendQuota, now: number): Promise<SendResult> {
    const state = this.state(challenge.userId);
    const until = lockedUntil(state, now);
    if (until !== undefined) return { ok: false, lockedUntil: until };
    const counted = countIn(state.sends, quota.windowMs, now);
    if (counted.count >= quota.limit) return { ok: false, retryAfterMs: counted.endsAt - now };
    state.sends = { count: counted.count + 1, endsAt: counted.endsAt };
    state.challenges.set(challenge.id, { record: copy(challenge), dropAt: now + ttlMs });
    return { ok: true };
  }

  async getChallenge(userId: string, challengeId: string): Promise<ChallengeRecord | null> {
    const record = this.liveChallenge(userId, challengeId, Date.now());
    return record ? copy(record) : null;
  }

  async replaceChallengeCode(
    userId: string,
    challengeId: string,
    next: { hash: string; expiresAt: number },
    ttlMs: number,
    rules: SendQuota & { cooldownMs: number },
    now: number,
  ): Promise<ResendResult> {
    const record = this.liveChallenge(userId, challengeId, now);
    if (!record) return { status: 'missing' };
    const until = lockedUntil(this.users.get(userId), now);
    if (until !== undefined) return { status: 'locked', lockedUntil: until };
    if (record.sentAt > 0 && now < record.sentAt + rules.cooldownMs) {
      return { status: 'too_soon', retryAfterMs: record.sentAt + rules.cooldownMs - now };
    }
    const state = this.state(userId);
    const counted = countIn(state.sends, rules.windowMs, now);
    if (counted.count >= rules.limit) return { status: 'quota', retryAfterMs: counted.endsAt - now };
    state.sends = { count: counted.count + 1, endsAt: counted.endsAt };
    Object.assign(record, { hash: next.hash, expiresAt: next.expiresAt, sentAt: now, attempts: 0 });
    state.challenges.set(challengeId, { record, dropAt: now + ttlMs });
    return { status: 'ok' };
  }

  async restoreChallengeCode(
    userId: string,
    challengeId: string,
    undelivered: string,
    previous: { hash: string; expiresAt: number; attempts: number },
  ): Promise<void> {
    const record = this.liveChallenge(userId, challengeId, Date.now());
    if (record && record.hash === undelivered) Object.assign(record, previous, { sentAt: 0 });
  }

  async attemptChallenge(
    userId: string,
    challengeId: string,
    hash: string,
    lockout: LockoutRule,
    now: number,
  ): Promise<AttemptResult> {
    const state = this.users.get(userId);
    const record = this.liveChallenge(userId, challengeId, now);
    if (!state || !record) return { status: 'missing' };
    const until = lockedUntil(state, now);
    if (until !== undefined) return { status: 'locked', lockedUntil: until };
    if (now >= record.expiresAt) return { status: 'expired' };
    if (record.attempts >= record.maxAttempts) return { status: 'exhausted' };
    if (state.devices.get(record.deviceId)?.status !== record.deviceStatus) return { status: 'device_gone' };
    record.attempts += 1;
    if (sameHash(record.hash, hash)) {
      // Single use: the record goes at once; a replay finds nothing.
      state.challenges.delete(challengeId);
      state.failures = undefined;
      return { status: 'ok', challenge: copy(record) };
    }
    const locked = fail(state, lockout, now);
    if (locked !== undefined) return { status: 'locked', lockedUntil: locked, locked: true };
    return { status: 'invalid', remainingAttempts: record.maxAttempts - record.attempts };
  }

  async recordFailure(userId: string, lockout: LockoutRule, now: number): Promise<FailureResult> {
    const state = this.state(userId);
    const until = lockedUntil(state, now);
    if (until !== undefined) return { status: 'locked', lockedUntil: until, locked: false };
    const locked = fail(state, lockout, now);
    return locked === undefined ? { status: 'counted' } : { status: 'locked', lockedUntil: locked, locked: true };
  }

  async useTotpStep(userId: string, deviceId: string, step: number, status: DeviceStatus, lockout: LockoutRule, now: number): Promise<TotpStepResult> {
    const state = this.users.get(userId);
    const until = lockedUntil(state, now);
    if (until !== undefined) return { status: 'locked', lockedUntil: until, locked: false };
    const device = state?.devices.get(deviceId);
    if (!state || !device || device.status !== status) return { status: 'device_gone' };
    const last = device.data.lastStep;
    if (typeof last === 'number' && step <= last) {
      const locked = fail(state, lockout, now);
      return locked === undefined ? { status: 'replayed' } : { status: 'locked', lockedUntil: locked, locked: true };
    }
    device.data.lastStep = step;
    state.failures = undefined;
    return { status: 'ok' };
  }

  async deleteChallenge(userId: string, challengeId: string): Promise<void> {
    this.users.get(userId)?.challenges.delete(challengeId);
  }

  async replaceRecoveryCodes(userId: string, hashes: string[]): Promise<void> {
    const unique = [...new Set(hashes)];
    this.state(userId).recoveryCodes = unique.length > 0 ? unique : undefined;
  }

  async countRecoveryCodes(userId: string): Promise<number> {
    return this.users.get(userId)?.recoveryCodes?.length ?? 0;
  }

  async useRecoveryCode(userId: string, hash: string, lockout: LockoutRule, now: number): Promise<RecoveryResult> {
    const state = this.state(userId);
    const until = lockedUntil(state, now);
    if (until !== undefined) return { status: 'locked', lockedUntil: until, locked: false };
    const codes = state.recoveryCodes ?? [];
    // Every hash is compared, with no early exit: see USE_RECOVERY_CODE in redis-scripts.ts.
    let match = -1;
    codes.forEach((stored, i) => {
      if (sameHash(stored, hash)) match = i;
    });
    if (match >= 0) {
      codes.splice(match, 1);
      if (codes.length === 0) state.recoveryCodes = undefined;
      state.failures = undefined;
      return { status: 'ok', remaining: codes.length };
    }
    const locked = fail(state, lockout, now);
    return locked === undefined ? { status: 'invalid' } : { status: 'locked', lockedUntil: locked, locked: true };
  }

  async saveCeremony(ceremony: CeremonyRecord, ttlMs: number): Promise<void> {
    // Kept for ttlMs from now, as a Redis TTL would keep it: the caller gives no time of its own.
    this.state(ceremony.userId).ceremonies.set(ceremony.id, { record: copy(ceremony), dropAt: Date.now() + ttlMs });
  }

  async takeCeremony(userId: string, ceremonyId: string, now: number): Promise<CeremonyRecord | null> {
    const ceremonies = this.users.get(userId)?.ceremonies;
    const entry = ceremonies?.get(ceremonyId);
    if (!ceremonies || !entry) return null;
    ceremonies.delete(ceremonyId);
    // A copy was made on save, and it is stored no more: it goes to the caller as it is.
    return entry.dropAt > now && now < entry.record.expiresAt ? entry.record : null;
  }

  async useSignatureCounter(userId: string, deviceId: string, counter: number, status: DeviceStatus, now: number): Promise<CounterResult> {
    const device = this.users.get(userId)?.devices.get(deviceId);
    if (!device || device.status !== status) return { status: 'device_gone' };
    const stored = typeof device.data.counter === 'number' ? device.data.counter : 0;
    if ((counter !== 0 || stored !== 0) && counter <= stored) return { status: 'cloned' };
    device.data.counter = counter;
    device.data.lastUsedAt = now;
    return { status: 'ok' };
  }

  async activateCredential(
    userId: string,
    deviceId: string,
    data: Record<string, unknown> & { credentialId: string },
    now: number,
  ): Promise<ActivationResult> {
    const devices = this.users.get(userId)?.devices;
    const device = devices?.get(deviceId);
    if (!devices || !device || device.status !== 'ACTIVATION_REQUIRED') return { status: 'device_gone' };
    if ([...devices.values()].some((d) => d !== device && d.data.credentialId === data.credentialId)) return { status: 'duplicate' };
    // Through JSON, as insertDevice takes data.
    Object.assign(device.data, JSON.parse(JSON.stringify(data)) as DeviceRecord['data']);
    Object.assign(device, { status: 'ACTIVE', activatedAt: now, updatedAt: now, activationChallengeId: null });
    return { status: 'ok', device: copy(device) };
  }

  async deleteDeviceChallenges(userId: string, deviceId: string): Promise<void> {
    const state = this.users.get(userId);
    if (!state) return;
    for (const [id, entry] of state.challenges) if (entry.record.deviceId === deviceId) state.challenges.delete(id);
    for (const [id, entry] of state.ceremonies) if (entry.record.deviceId === deviceId) state.ceremonies.delete(id);
  }

  async saveTrustedBrowser(browser: TrustedBrowserRecord): Promise<void> {
    this.state(browser.userId).trusted.set(browser.id, copy(browser));
  }

  async listTrustedBrowsers(userId: string, now: number): Promise<TrustedBrowserRecord[]> {
    const trusted = this.users.get(userId)?.trusted;
    return trusted ? [...trusted.values()].filter((b) => b.expiresAt > now).map(copy).sort(byLastUse) : [];
  }

  async useTrustedBrowser(userId: string, browserId: string, tokenHash: string, nextTokenHash: string, now: number): Promise<TrustUseResult> {
    const trusted = this.users.get(userId)?.trusted;
    const browser = trusted?.get(browserId);
    if (!trusted || !browser) return { status: 'missing' };
    if (browser.expiresAt <= now) {
      trusted.delete(browserId);
      return { status: 'missing' };
    }
    if (!sameHash(browser.tokenHash, tokenHash)) {
      // Two cookies claim one record: the thief's or the user's, the store cannot tell, so neither is trusted.
      trusted.delete(browserId);
      return { status: 'replayed' };
    }
    Object.assign(browser, { tokenHash: nextTokenHash, lastUsedAt: now });
    return { status: 'ok', browser: copy(browser) };
  }

  // An expired one not yet swept is not counted as there: its Redis TTL would have dropped it.
  async deleteTrustedBrowser(userId: string, browserId: string): Promise<boolean> {
    const trusted = this.users.get(userId)?.trusted;
    const browser = trusted?.get(browserId);
    if (!trusted || !browser) return false;
    trusted.delete(browserId);
    return browser.expiresAt > Date.now();
  }

  async deleteTrustedBrowsers(userId: string): Promise<number> {
    const trusted = this.users.get(userId)?.trusted;
    if (!trusted) return 0;
    const now = Date.now();
    const count = [...trusted.values()].filter((b) => b.expiresAt > now).length;
    trusted.clear();
    return count;
  }

  async consumeQuota(scope: string, key: string, quota: SendQuota, now: number): Promise<SendResult> {
    const name = `${scope}\0${key}`;
    const counted = countIn(this.quotas.get(name), quota.windowMs, now);
    if (counted.count >= quota.limit) return { ok: false, retryAfterMs: counted.endsAt - now };
    this.quotas.set(name, { count: counted.count + 1, endsAt: counted.endsAt });
    return { ok: true };
  }

  async hit(scope: string, key: string, delta: number, windowMs: number, now: number): Promise<HitCount> {
    const name = `${scope}\0${key}`;
    const running = this.hits.get(name);
    const window = running && running.endsAt > now ? running : undefined;
    const count = Math.max(0, (window?.count ?? 0) + delta);
    if (count === 0) {
      this.hits.delete(name);
      return { hits: 0, resetAt: now };
    }
    const endsAt = window ? window.endsAt : now + windowMs;
    this.hits.set(name, { count, endsAt });
    return { hits: count, resetAt: endsAt };
  }

  async getStamp(userId: string, candidate: string): Promise<string> {
    const state = this.state(userId);
    state.stamp ??= candidate;
    return state.stamp;
  }

  async renewStamp(userId: string, stamp: string): Promise<void> {
    this.state(userId).stamp = stamp;
  }

  async getLock(userId: string, now: number): Promise<number | null> {
    return lockedUntil(this.users.get(userId), now) ?? null;
  }

  async clearLock(userId: string): Promise<void> {
    const state = this.users.get(userId);
    if (!state) return;
    state.lockedUntil = undefined;
    state.failures = undefined;
  }
}

function copy<T>(value: T): T {
  return structuredClone(value);
}

/** When the user's lock ends, or undefined when they are not locked at `now`. */
function lockedUntil(state: UserState | undefined, now: number): number | undefined {
  return state?.lockedUntil !== undefined && state.lockedUntil > now ? state.lockedUntil : undefined;
}

/**
 * Counts one failure against the user, in a window shared by every kind of
 * wrong answer; at the threshold the user is locked and the count starts
 * over. Returns when the lock this failure set ends, if it set one.
 */
function fail(state: UserState, lockout: LockoutRule, now: number): number | undefined {
  const counted = countIn(state.failures, lockout.windowMs, now);
  const failures = counted.count + 1;
  if (failures < lockout.threshold) {
    state.failures = { count: failures, endsAt: counted.endsAt };
    return undefined;
  }
  state.failures = undefined;
  state.lockedUntil = now + lockout.durationMs;
  return state.lockedUntil;
}


/** How every store lists trusted browsers: most recently used first, then most recently trusted, then by id (redis.ts sorts alike). */
export function byLastUse(a: TrustedBrowserRecord, b: TrustedBrowserRecord): number {
  return b.lastUsedAt - a.lastUsedAt || b.createdAt - a.createdAt || a.id.localeCompare(b.id);
}

/** Byte for byte, as the Lua `same` does: whatever encoding the caller's hashes are in. */
function sameHash(stored: string, candidate: string): boolean {
  const a = Buffer.from(stored);
  const b = Buffer.from(candidate);
  return a.length === b.length && timingSafeEqual(a, b);
}
