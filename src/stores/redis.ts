import { createHash } from 'node:crypto';
import { StoreUnavailableError } from '../core/errors.js';
import { byLastUse } from './memory.js';
import { byOrder } from './order.js';
import * as scripts from './redis-scripts.js';
import type {
  ActivationResult,
  AttemptResult,
  CeremonyRecord,
  ChallengePurpose,
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

interface EvalOptions {
  keys: string[];
  arguments: string[];
}

/**
 * What RedisMfaStore needs of a client: EVALSHA and EVAL, as the `redis`
 * package (v5+) has them on both createClient() and createCluster().
 */
export interface RedisScriptClient {
  evalSha(sha: string, options: EvalOptions): Promise<unknown>;
  eval(script: string, options: EvalOptions): Promise<unknown>;
  /** node-redis sets it false while disconnected; the store then fails at once instead of queueing. */
  readonly isReady?: boolean;
}

export interface RedisMfaStoreOptions {
  /** A connected client from the `redis` package: createClient() or createCluster(). */
  client: RedisScriptClient;
  /** Put before every key. Default 'mfa:'. */
  prefix?: string;
}

class Script {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }
}

const SCRIPTS = Object.fromEntries(
  Object.entries(scripts).map(([name, source]) => [name, new Script(source)]),
) as Record<keyof typeof scripts, Script>;

/** In the order USE_TRUSTED and GET_TRUSTED return them (TRUSTED_FIELDS in redis-scripts.ts). */
const TRUSTED_FIELDS = ['id', 'userId', 'label', 'createdAt', 'lastUsedAt', 'expiresAt', 'tokenHash'] as const;

const CHALLENGE_FIELDS = ['id', 'userId', 'deviceId', 'purpose', 'deviceStatus', 'hash', 'attempts', 'maxAttempts', 'createdAt', 'sentAt', 'expiresAt'] as const;

/**
 * Keeps MFA state in Redis, shared by every instance of the app. Each
 * check-and-act is one Lua script; every transient key has a TTL; each
 * user's keys carry a `{userId}` hash tag, so the scripts also run on Redis
 * Cluster. Only HMACs of codes are stored. Any Redis failure surfaces as
 * StoreUnavailableError, which the pages turn into "try again shortly".
 */
export class RedisMfaStore implements MfaStore {
  private readonly client: RedisScriptClient;
  private readonly prefix: string;

  constructor(options: RedisMfaStoreOptions) {
    if (!options || typeof options.client?.evalSha !== 'function' || typeof options.client.eval !== 'function') {
      throw new TypeError('express-mfa: RedisMfaStore needs { client }: a connected client from the redis package (createClient() or createCluster()).');
    }
    if (options.prefix !== undefined && (typeof options.prefix !== 'string' || /[{}]/.test(options.prefix))) {
      throw new TypeError("express-mfa: RedisMfaStore prefix must be a string without '{' or '}', such as 'mfa:'.");
    }
    this.client = options.client;
    this.prefix = options.prefix ?? 'mfa:';
  }

  /** The keys of one user, all in one hash slot. Braces in ids are escaped so the tag stays whole. */
  private keys(userId: string) {
    const tag = `${this.prefix}{${escapeTag(userId)}}`;
    return {
      devices: `${tag}:devices`,
      challenge: (id: string) => `${tag}:challenge:${id}`,
      sends: `${tag}:sends`,
      failures: `${tag}:failures`,
      lock: `${tag}:lock`,
      deviceChallenges: (deviceId: string) => `${tag}:device-challenges:${deviceId}`,
      ceremony: (id: string) => `${tag}:ceremony:${id}`,
      deviceCeremonies: (deviceId: string) => `${tag}:device-ceremonies:${deviceId}`,
      stamp: `${tag}:stamp`,
      recovery: `${tag}:recovery`,
      trustedIds: `${tag}:trusted`,
      trusted: (id: string) => `${tag}:trusted:${id}`,
    };
  }

  private async run(script: Script, keys: string[], args: Array<string | number> = []): Promise<unknown> {
    if (this.client.isReady === false) throw new StoreUnavailableError(new Error('the Redis client is not connected'));
    const options = { keys, arguments: args.map(String) };
    try {
      try {
        return await this.client.evalSha(script.sha, options);
      } catch (error) {
        if (!String((error as Error)?.message).startsWith('NOSCRIPT')) throw error;
        return await this.client.eval(script.source, options);
      }
    } catch (error) {
      throw new StoreUnavailableError(error);
    }
  }

  async listDevices(userId: string): Promise<DeviceRecord[]> {
    const values = (await this.run(SCRIPTS.LIST_DEVICES, [this.keys(userId).devices])) as string[];
    return values.map(parseDevice).sort(byOrder);
  }

  async getDevice(userId: string, deviceId: string): Promise<DeviceRecord | null> {
    const raw = await this.run(SCRIPTS.GET_DEVICE, [this.keys(userId).devices], [deviceId]);
    return typeof raw === 'string' ? parseDevice(raw) : null;
  }

  async insertDevice(device: NewDeviceRecord, maxDevices: number): Promise<DeviceRecord | null> {
    const raw = await this.run(SCRIPTS.INSERT_DEVICE, [this.keys(device.userId).devices], [device.id, serializeDevice(device), maxDevices]);
    return typeof raw === 'string' ? parseDevice(raw) : null;
  }

  async updateDevice(userId: string, deviceId: string, patch: DevicePatch): Promise<DeviceRecord | null> {
    const raw = await this.run(SCRIPTS.UPDATE_DEVICE, [this.keys(userId).devices], [deviceId, JSON.stringify(patch)]);
    return typeof raw === 'string' ? parseDevice(raw) : null;
  }

  async orderDevices(userId: string, ids: string[]): Promise<boolean> {
    return (await this.run(SCRIPTS.ORDER_DEVICES, [this.keys(userId).devices], ids)) === 1;
  }

  async deleteDevice(userId: string, deviceId: string, options: { keepLastActive?: boolean } = {}): Promise<DeviceRecord | null> {
    const raw = await this.run(SCRIPTS.DELETE_DEVICE, [this.keys(userId).devices], [deviceId, options.keepLastActive ? '1' : '0']);
    return typeof raw === 'string' ? parseDevice(raw) : null;
  }

  async createChallenge(challenge: ChallengeRecord, ttlMs: number, quota: SendQuota, now: number): Promise<SendResult> {
    const keys = this.keys(challenge.userId);
    const fields = CHALLENGE_FIELDS.flatMap((f) => [f, challenge[f]]);
    const [ok, ms] = (await this.run(
      SCRIPTS.CREATE_CHALLENGE,
      [keys.challenge(challenge.id), keys.sends, keys.lock, keys.deviceChallenges(challenge.deviceId)],
      [ttlMs, quota.limit, quota.windowMs, now, challenge.id, ...fields],
    )) as [number, number];
    if (ok === 1) return { ok: true };
    return ok === 2 ? { ok: false, lockedUntil: Number(ms) } : { ok: false, retryAfterMs: Number(ms) };
  }

  async getChallenge(userId: string, challengeId: string): Promise<ChallengeRecord | null> {
    const pairs = (await this.run(SCRIPTS.GET_CHALLENGE, [this.keys(userId).challenge(challengeId)])) as string[];
    return pairs.length === 0 ? null : parseChallenge(pairs);
  }

  async replaceChallengeCode(
    userId: string,
    challengeId: string,
    next: { hash: string; expiresAt: number },
    ttlMs: number,
    rules: SendQuota & { cooldownMs: number },
    now: number,
  ): Promise<ResendResult> {
    const keys = this.keys(userId);
    const [status, ms] = (await this.run(SCRIPTS.REPLACE_CODE, [keys.challenge(challengeId), keys.sends, keys.lock], [
      next.hash, next.expiresAt, ttlMs, rules.cooldownMs, rules.limit, rules.windowMs, now,
    ])) as [ResendResult['status'], number?];
    if (status === 'too_soon' || status === 'quota') return { status, retryAfterMs: Number(ms) };
    return status === 'locked' ? { status, lockedUntil: Number(ms) } : ({ status } as ResendResult);
  }

  async restoreChallengeCode(
    userId: string,
    challengeId: string,
    undelivered: string,
    previous: { hash: string; expiresAt: number; attempts: number },
  ): Promise<void> {
    await this.run(SCRIPTS.RESTORE_CODE, [this.keys(userId).challenge(challengeId)], [undelivered, previous.hash, previous.expiresAt, previous.attempts]);
  }

  async attemptChallenge(userId: string, challengeId: string, hash: string, lockout: LockoutRule, now: number): Promise<AttemptResult> {
    const keys = this.keys(userId);
    const reply = (await this.run(SCRIPTS.ATTEMPT, [keys.challenge(challengeId), keys.failures, keys.lock, keys.devices], [
      hash, lockout.threshold, lockout.windowMs, lockout.durationMs, now,
    ])) as Array<string | number>;
    const status = reply[0] as AttemptResult['status'];
    switch (status) {
      case 'ok':
        return { status, challenge: parseChallenge(reply.slice(1).map(String)) };
      case 'invalid':
        return { status, remainingAttempts: Number(reply[1]) };
      case 'locked':
        return lockedReply(reply);
      default:
        return { status } as AttemptResult;
    }
  }

  async recordFailure(userId: string, lockout: LockoutRule, now: number): Promise<FailureResult> {
    const keys = this.keys(userId);
    const reply = (await this.run(SCRIPTS.RECORD_FAILURE, [keys.failures, keys.lock], [lockout.threshold, lockout.windowMs, lockout.durationMs, now])) as [string, number?, number?];
    return reply[0] === 'locked' ? lockedReply(reply) : { status: 'counted' };
  }

  async useTotpStep(userId: string, deviceId: string, step: number, status: DeviceStatus, lockout: LockoutRule, now: number): Promise<TotpStepResult> {
    const keys = this.keys(userId);
    const reply = (await this.run(SCRIPTS.USE_TOTP_STEP, [keys.devices, keys.failures, keys.lock], [
      deviceId, step, status, lockout.threshold, lockout.windowMs, lockout.durationMs, now,
    ])) as [string, number?, number?];
    return reply[0] === 'locked' ? lockedReply(reply) : ({ status: reply[0] } as TotpStepResult);
  }

  async deleteChallenge(userId: string, challengeId: string): Promise<void> {
    await this.run(SCRIPTS.DELETE_KEYS, [this.keys(userId).challenge(challengeId)]);
  }

  async replaceRecoveryCodes(userId: string, hashes: string[]): Promise<void> {
    await this.run(SCRIPTS.REPLACE_RECOVERY_CODES, [this.keys(userId).recovery], hashes);
  }

  async countRecoveryCodes(userId: string): Promise<number> {
    return Number(await this.run(SCRIPTS.COUNT_RECOVERY_CODES, [this.keys(userId).recovery]));
  }

  async useRecoveryCode(userId: string, hash: string, lockout: LockoutRule, now: number): Promise<RecoveryResult> {
    const keys = this.keys(userId);
    const reply = (await this.run(SCRIPTS.USE_RECOVERY_CODE, [keys.recovery, keys.failures, keys.lock], [
      hash, lockout.threshold, lockout.windowMs, lockout.durationMs, now,
    ])) as [string, number?, number?];
    if (reply[0] === 'ok') return { status: 'ok', remaining: Number(reply[1]) };
    return reply[0] === 'locked' ? lockedReply(reply) : { status: 'invalid' };
  }

  async saveCeremony(ceremony: CeremonyRecord, ttlMs: number): Promise<void> {
    const keys = this.keys(ceremony.userId);
    // One for any of the user's passkeys is no device's: no device's removal takes it.
    const index = ceremony.deviceId === null ? [] : [keys.deviceCeremonies(ceremony.deviceId)];
    await this.run(SCRIPTS.SAVE_CEREMONY, [keys.ceremony(ceremony.id), ...index], [ttlMs, ceremony.id, JSON.stringify(ceremony)]);
  }

  async takeCeremony(userId: string, ceremonyId: string, now: number): Promise<CeremonyRecord | null> {
    const raw = await this.run(SCRIPTS.TAKE_CEREMONY, [this.keys(userId).ceremony(ceremonyId)]);
    if (typeof raw !== 'string') return null;
    // Taken in the script whether expired or not; the expiry, a time of the app's, is checked here like the memory store's.
    const ceremony = JSON.parse(raw) as CeremonyRecord;
    return now < ceremony.expiresAt ? ceremony : null;
  }

  async useSignatureCounter(userId: string, deviceId: string, counter: number, status: DeviceStatus, now: number): Promise<CounterResult> {
    const [result] = (await this.run(SCRIPTS.USE_SIGNATURE_COUNTER, [this.keys(userId).devices], [deviceId, counter, status, now])) as [CounterResult['status']];
    return { status: result };
  }

  async activateCredential(
    userId: string,
    deviceId: string,
    data: Record<string, unknown> & { credentialId: string },
    now: number,
  ): Promise<ActivationResult> {
    const { beside, rest } = splitData(data);
    const fields = Object.fromEntries(Object.entries(rest).map(([field, value]) => [field, JSON.stringify(value)]));
    const reply = (await this.run(SCRIPTS.ACTIVATE_CREDENTIAL, [this.keys(userId).devices], [deviceId, JSON.stringify(beside), JSON.stringify(fields), now])) as [
      ActivationResult['status'],
      string?,
    ];
    return reply[0] === 'ok' ? { status: 'ok', device: parseDevice(reply[1]!) } : { status: reply[0] };
  }

  async deleteDeviceChallenges(userId: string, deviceId: string): Promise<void> {
    const keys = this.keys(userId);
    const [challenges, ceremonies] = (await this.run(SCRIPTS.TAKE_DEVICE_CHALLENGES, [keys.deviceChallenges(deviceId), keys.deviceCeremonies(deviceId)])) as [string[], string[]];
    const stale = [...challenges.map((id) => keys.challenge(id)), ...ceremonies.map((id) => keys.ceremony(id))];
    if (stale.length > 0) await this.run(SCRIPTS.DELETE_KEYS, stale);
  }

  async saveTrustedBrowser(browser: TrustedBrowserRecord): Promise<void> {
    const keys = this.keys(browser.userId);
    // No `now` on save: the TTL runs to expiresAt from this clock; whether it expired at a given `now` is checked on use and list.
    const ttlMs = Math.max(1, Math.ceil(browser.expiresAt - Date.now()));
    const fields = TRUSTED_FIELDS.flatMap((f) => [f, browser[f]]);
    await this.run(SCRIPTS.SAVE_TRUSTED, [keys.trusted(browser.id), keys.trustedIds], [ttlMs, browser.id, ...fields]);
  }

  async listTrustedBrowsers(userId: string, now: number): Promise<TrustedBrowserRecord[]> {
    const keys = this.keys(userId);
    const ids = (await this.run(SCRIPTS.TRUSTED_IDS, [keys.trustedIds])) as string[];
    if (ids.length === 0) return [];
    // One saved since the ids were read is not listed, as if this list came first.
    const values = (await this.run(SCRIPTS.GET_TRUSTED, [keys.trustedIds, ...ids.map(keys.trusted)], ids)) as Array<string[] | null>;
    return values
      .filter((v): v is string[] => Array.isArray(v))
      .map(parseTrusted)
      .filter((b) => b.expiresAt > now)
      .sort(byLastUse);
  }

  async useTrustedBrowser(userId: string, browserId: string, tokenHash: string, nextTokenHash: string, now: number): Promise<TrustUseResult> {
    const keys = this.keys(userId);
    const reply = (await this.run(SCRIPTS.USE_TRUSTED, [keys.trusted(browserId), keys.trustedIds], [browserId, tokenHash, nextTokenHash, now])) as string[];
    return reply[0] === 'ok' ? { status: 'ok', browser: parseTrusted(reply.slice(1)) } : { status: reply[0] as 'missing' | 'replayed' };
  }

  async deleteTrustedBrowser(userId: string, browserId: string): Promise<boolean> {
    const keys = this.keys(userId);
    return Number(await this.run(SCRIPTS.DELETE_TRUSTED, [keys.trustedIds, keys.trusted(browserId)], [browserId])) === 1;
  }

  async deleteTrustedBrowsers(userId: string): Promise<number> {
    const keys = this.keys(userId);
    const ids = (await this.run(SCRIPTS.TRUSTED_IDS, [keys.trustedIds])) as string[];
    if (ids.length === 0) return 0;
    // Each record is counted by the call whose DEL removed it, so parallel calls never count one twice.
    return Number(await this.run(SCRIPTS.DELETE_TRUSTED, [keys.trustedIds, ...ids.map(keys.trusted)], ids));
  }

  async consumeQuota(scope: string, key: string, quota: SendQuota, now: number): Promise<SendResult> {
    // Its own hash tag: a quota is shared across users, so it lives in no user's slot.
    const name = `${this.prefix}{quota:${escapeTag(scope)}:${escapeTag(key)}}`;
    const [ok, ms] = (await this.run(SCRIPTS.CONSUME_QUOTA, [name], [quota.limit, quota.windowMs, now])) as [number, number];
    return ok === 1 ? { ok: true } : { ok: false, retryAfterMs: Number(ms) };
  }

  async hit(scope: string, key: string, delta: number, windowMs: number, now: number): Promise<HitCount> {
    // Its own hash tag, as a quota's: a count belongs to no user.
    const name = `${this.prefix}{hits:${escapeTag(scope)}:${escapeTag(key)}}`;
    const [hits, resetAt] = (await this.run(SCRIPTS.HIT, [name], [delta, windowMs, now])) as [number, number];
    return { hits: Number(hits), resetAt: Number(resetAt) };
  }

  async getStamp(userId: string, candidate: string): Promise<string> {
    return String(await this.run(SCRIPTS.GET_STAMP, [this.keys(userId).stamp], [candidate]));
  }

  async renewStamp(userId: string, stamp: string): Promise<void> {
    await this.run(SCRIPTS.SET_STAMP, [this.keys(userId).stamp], [stamp]);
  }

  async getLock(userId: string, now: number): Promise<number | null> {
    const until = await this.run(SCRIPTS.GET_LOCK, [this.keys(userId).lock], [now]);
    return typeof until === 'number' ? until : null;
  }

  async clearLock(userId: string): Promise<void> {
    const keys = this.keys(userId);
    await this.run(SCRIPTS.DELETE_KEYS, [keys.lock, keys.failures]);
  }
}

/** Braces (and the escape itself) percent-encoded, so that a hash tag stays whole. */
function escapeTag(value: string): string {
  return value.replace(/[%{}]/g, (c) => encodeURIComponent(c));
}

/** A script's {'locked', until, justLocked}. */
function lockedReply(reply: unknown[]): { status: 'locked'; lockedUntil: number; locked: boolean } {
  return { status: 'locked', lockedUntil: Number(reply[1]), locked: reply[2] === 1 };
}

/**
 * The fields of a device's `data` that scripts read or write, kept beside
 * it (see serializeDevice): small integers (a time step, a 32-bit counter, a
 * time in ms) and a base64url string, which cjson keeps as they are.
 */
const BESIDE = ['lastStep', 'counter', 'lastUsedAt', 'credentialId'] as const;
type Beside = Partial<Record<(typeof BESIDE)[number], unknown>>;

/**
 * A device as Redis keeps it: `data` nested as a JSON string, but for the
 * BESIDE fields, which sit beside it, and for the fields activateCredential
 * merged in since, in `dataFields`, each its value as a JSON string.
 */
type StoredDevice = Omit<DeviceRecord, 'data'> & Beside & { data: string; dataFields?: Record<string, string> };

/** `value`'s BESIDE fields (those it has) and the rest. */
function splitData<T extends Record<string, unknown>>(value: T): { beside: Beside; rest: Omit<T, keyof Beside> } {
  const rest: Record<string, unknown> = { ...value };
  const beside: Beside = {};
  for (const field of BESIDE) {
    if (!(field in rest)) continue;
    beside[field] = rest[field];
    delete rest[field];
  }
  return { beside, rest: rest as Omit<T, keyof Beside> };
}

/**
 * The scripts decode and re-encode a device to change it, and Lua's cjson
 * would turn an empty array in the method's `data` into {} and round a long
 * number to 14 digits: `data` goes as a string, which cjson leaves whole.
 * The fields of it that a script compares or sets are kept beside it; the
 * fields a script merges in without reading them (activateCredential's)
 * go each as a string of its own, in `dataFields`, so that the merge in Lua
 * moves only strings, which cjson leaves whole.
 */
function serializeDevice(device: NewDeviceRecord): string {
  const { beside, rest } = splitData(device.data);
  return JSON.stringify({ ...device, data: JSON.stringify(rest), ...beside });
}

function parseDevice(raw: string): DeviceRecord {
  const { data, dataFields = {}, ...stored } = JSON.parse(raw) as StoredDevice;
  const { beside, rest: device } = splitData(stored);
  const merged = Object.fromEntries(Object.entries(dataFields).map(([field, value]) => [field, JSON.parse(value) as unknown]));
  return { ...device, data: { ...(JSON.parse(data) as DeviceRecord['data']), ...merged, ...beside } };
}

/** Field values in TRUSTED_FIELDS order. */
function parseTrusted(values: string[]): TrustedBrowserRecord {
  const [id, userId, label, createdAt, lastUsedAt, expiresAt, tokenHash] = values as [string, string, string, string, string, string, string];
  return { id, userId, label, createdAt: Number(createdAt), lastUsedAt: Number(lastUsedAt), expiresAt: Number(expiresAt), tokenHash };
}

function parseChallenge(pairs: string[]): ChallengeRecord {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < pairs.length; i += 2) map.set(pairs[i]!, pairs[i + 1]!);
  const number = (key: string) => Number(map.get(key));
  return {
    id: map.get('id')!,
    userId: map.get('userId')!,
    deviceId: map.get('deviceId')!,
    purpose: map.get('purpose') as ChallengePurpose,
    deviceStatus: map.get('deviceStatus') as DeviceStatus,
    hash: map.get('hash')!,
    attempts: number('attempts'),
    maxAttempts: number('maxAttempts'),
    createdAt: number('createdAt'),
    sentAt: number('sentAt'),
    expiresAt: number('expiresAt'),
  };
}
