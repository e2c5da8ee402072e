import { createHash, timingSafeEqual } from 'node:crypto';
import { StoreUnavailableError } from '../core/errors.js';
import { byLastUse } from './memory.js';
import { byOrder } from './order.js';
import { countIn, type Window } from './window.js';
import { identifierProblem, MAX_PREFIX_LENGTH, migrations, migrationsTableSql, tables, type Tables } from './postgres-schema.js';
import { statements, type Statements } from './postgres-sql.js';
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

type Row = Record<string, unknown>;

/** What PostgresMfaStore needs of a query: the `pg` package's `query(text, values)`, on a pool or a checked-out client. */
export interface PostgresQueryable {
  query(text: string, values?: unknown[]): Promise<{ rows: Row[]; rowCount?: number | null }>;
}

/** A client checked out of the pool for one transaction, as `pg`'s PoolClient has it. */
export interface PostgresPoolClient extends PostgresQueryable {
  /** With an error, the pool discards the client instead of reusing it. */
  release(error?: Error | boolean): void;
  on(event: 'error', listener: (error: Error) => void): unknown;
  removeListener(event: 'error', listener: (error: Error) => void): unknown;
}

/** What PostgresMfaStore needs of a pool: a `Pool` from the `pg` package has it. */
export interface PostgresPool extends PostgresQueryable {
  connect(): Promise<PostgresPoolClient>;
}

export interface PostgresMfaStoreOptions {
  /** A `Pool` from the `pg` package (`new Pool({ connectionString })`). */
  pool: PostgresPool;
  /** Put before every table name. Lower-case letters, digits and underscores. Default 'mfa_'. */
  tablePrefix?: string;
  /** An existing schema for the tables; default: the connection's search_path. */
  schema?: string;
}

type Query = (text: string, values?: unknown[]) => Promise<Row[]>;

/** The user's row, as LOCK_USER returns it: their send and failure windows and their lock. */
interface UserLimits {
  sends: Window | undefined;
  failures: Window | undefined;
  lockedUntil: number | undefined;
}

/**
 * Keeps MFA state in PostgreSQL, shared by every instance of the app. Each
 * check-and-act is one statement, or one transaction that first locks the
 * user's row (see postgres-sql.ts), so instances cannot race past a limit.
 * Times are the app's; expired rows never count, and sweep() deletes them.
 * Only HMACs of codes are stored. Any database failure surfaces as
 * StoreUnavailableError, which the pages turn into "try again shortly".
 */
export class PostgresMfaStore implements MfaStore {
  private readonly pool: PostgresPool;
  private readonly tables: Tables;
  private readonly sql: Statements;

  constructor(options: PostgresMfaStoreOptions) {
    if (!options || typeof options.pool?.query !== 'function' || typeof options.pool.connect !== 'function') {
      throw new TypeError('express-mfa: PostgresMfaStore needs { pool }: a Pool from the pg package (new Pool({ connectionString })).');
    }
    this.pool = options.pool;
    this.tables = tablesOf(options);
    this.sql = statements(this.tables);
  }

  /**
   * The schema's versions as SQL, for teams that run their own migration
   * tool: each creates `<prefix>migrations` when missing and records itself
   * there, so that migrate() afterwards finds nothing to do. Apply them in
   * order, each in a transaction.
   */
  static migrations(options: Pick<PostgresMfaStoreOptions, 'tablePrefix' | 'schema'> = {}): Array<{ version: number; sql: string }> {
    return migrations(tablesOf(options));
  }

  /**
   * Creates or updates the store's tables: applies the versions missing
   * from `<prefix>migrations`, in one transaction under an advisory lock,
   * so that instances starting together do not collide. Idempotent.
   */
  async migrate(): Promise<void> {
    const key = advisoryKey(this.tables.migrations);
    await this.transaction(async (q) => {
      await q('SELECT pg_advisory_xact_lock($1::bigint)', [key]);
      await q(migrationsTableSql(this.tables));
      const applied = new Set((await q(`SELECT version FROM ${this.tables.migrations}`)).map((r) => Number(r.version)));
      for (const migration of migrations(this.tables)) if (!applied.has(migration.version)) await q(migration.sql);
    });
  }

  /**
   * Deletes what has expired at `now` (challenges, ceremonies, trusted
   * browsers, quota windows) and forgets ended limits and locks. Expired
   * rows count for nothing even before: this only keeps the tables small.
   * Returns how many rows were deleted.
   */
  async sweep(now: number = Date.now()): Promise<number> {
    let deleted = 0;
    for (const text of this.sql.SWEEP) deleted += (await this.command(text, [now])).rowCount;
    await this.command(this.sql.SWEEP_LIMITS, [now]);
    return deleted + (await this.command(this.sql.SWEEP_USERS)).rowCount;
  }

  /** One statement on its own, on any client of the pool (pg's pool.query discards a client whose query failed). */
  private async query(text: string, values?: unknown[]): Promise<Row[]> {
    return (await this.command(text, values)).rows;
  }

  private async command(text: string, values?: unknown[]): Promise<{ rows: Row[]; rowCount: number }> {
    try {
      const result = await this.pool.query(text, values);
      return { rows: result.rows, rowCount: result.rowCount ?? 0 };
    } catch (error) {
      throw new StoreUnavailableError(error);
    }
  }

  /** Runs `step` in a transaction on one client; any failure rolls it back and discards the client. */
  private async transaction<T>(step: (q: Query) => Promise<T>): Promise<T> {
    let client: PostgresPoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw new StoreUnavailableError(error);
    }
    // A connection that breaks between two statements emits 'error' on the client; unheard, it would end the process.
    let broken: Error | undefined;
    const onError = (error: Error) => {
      broken = error;
    };
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const result = await step(async (text, values) => (await client.query(text, values)).rows);
      await client.query('COMMIT');
      client.removeListener('error', onError);
      client.release();
      return result;
    } catch (error) {
      client.removeListener('error', onError);
      // Discarded, not rolled back: its connection may be dead or hung, and closing it ends the transaction on the server.
      client.release(error instanceof Error ? error : new Error(String(error)));
      throw new StoreUnavailableError(broken ?? error);
    }
  }

  /** Runs `step` holding the user's row lock: one user's steps, on every instance, one at a time. */
  private withUser<T>(userId: string, step: (q: Query, limits: UserLimits) => Promise<T>): Promise<T> {
    return this.transaction(async (q) => {
      const [row] = await q(this.sql.LOCK_USER, [userId]);
      return step(q, parseLimits(row!));
    });
  }

  /**
   * Counts one failure against the user, in the window shared by every kind
   * of wrong answer; at the threshold locks them and starts the count over.
   * Returns when the lock this failure set ends, if it set one.
   */
  private async fail(q: Query, userId: string, limits: UserLimits, lockout: LockoutRule, now: number): Promise<number | undefined> {
    const counted = countIn(limits.failures, lockout.windowMs, now);
    const failures = counted.count + 1;
    if (failures < lockout.threshold) {
      await q(this.sql.SET_FAILURES, [userId, failures, counted.endsAt, null]);
      return undefined;
    }
    const until = now + lockout.durationMs;
    await q(this.sql.SET_FAILURES, [userId, 0, null, until]);
    return until;
  }

  private async forgetFailures(q: Query, userId: string): Promise<void> {
    await q(this.sql.SET_FAILURES, [userId, 0, null, null]);
  }

  async listDevices(userId: string): Promise<DeviceRecord[]> {
    return (await this.query(this.sql.LIST_DEVICES, [userId])).map(parseDevice).sort(byOrder);
  }

  async getDevice(userId: string, deviceId: string): Promise<DeviceRecord | null> {
    const [row] = await this.query(this.sql.GET_DEVICE, [userId, deviceId]);
    return row ? parseDevice(row) : null;
  }

  async insertDevice(device: NewDeviceRecord, maxDevices: number): Promise<DeviceRecord | null> {
    return this.withUser(device.userId, async (q) => {
      const [places] = await q(this.sql.DEVICE_PLACES, [device.userId]);
      if (Number(places!.count) >= maxDevices) return null;
      const [row] = await q(this.sql.INSERT_DEVICE, [
        device.userId, device.id, device.type, JSON.stringify(device.data), device.nickname, device.status,
        Number(places!.last) + 1, device.createdAt, device.updatedAt, device.activatedAt, device.activationChallengeId,
      ]);
      return parseDevice(row!);
    });
  }

  async updateDevice(userId: string, deviceId: string, patch: DevicePatch): Promise<DeviceRecord | null> {
    const [row] = await this.query(this.sql.UPDATE_DEVICE, [userId, deviceId, JSON.stringify(patch)]);
    return row ? parseDevice(row) : null;
  }

  async orderDevices(userId: string, ids: string[]): Promise<boolean> {
    return this.withUser(userId, async (q) => {
      const held = new Set((await q(this.sql.DEVICE_IDS, [userId])).map((r) => String(r.id)));
      const permutation = ids.length === held.size && new Set(ids).size === ids.length && ids.every((id) => held.has(id));
      if (permutation && ids.length > 0) await q(this.sql.SET_ORDER, [userId, ids]);
      return permutation;
    });
  }

  async deleteDevice(userId: string, deviceId: string, options: { keepLastActive?: boolean } = {}): Promise<DeviceRecord | null> {
    const values = [userId, deviceId, options.keepLastActive === true];
    // Whether another device is ACTIVE holds only while no parallel removal can change it: under the user's lock.
    const rows = options.keepLastActive
      ? await this.withUser(userId, (q) => q(this.sql.DELETE_DEVICE, values))
      : await this.query(this.sql.DELETE_DEVICE, values);
    return rows[0] ? parseDevice(rows[0]) : null;
  }

  async createChallenge(challenge: ChallengeRecord, ttlMs: number, quota: SendQuota, now: number): Promise<SendResult> {
    const c = challenge;
    const [row] = await this.query(this.sql.CREATE_CHALLENGE, [
      c.userId, c.id, c.deviceId, c.purpose, c.deviceStatus, c.hash, c.attempts, c.maxAttempts, c.createdAt, c.sentAt, c.expiresAt, now + ttlMs,
      now, quota.windowMs, quota.limit,
    ]);
    if (row!.r_status === 'locked') return { ok: false, lockedUntil: Number(row!.r_at) };
    if (row!.r_status === 'quota') return { ok: false, retryAfterMs: Number(row!.r_at) };
    return { ok: true };
  }

  async getChallenge(userId: string, challengeId: string): Promise<ChallengeRecord | null> {
    const [row] = await this.query(this.sql.GET_CHALLENGE, [userId, challengeId, Date.now()]);
    return row ? parseChallenge(row) : null;
  }

  async replaceChallengeCode(
    userId: string,
    challengeId: string,
    next: { hash: string; expiresAt: number },
    ttlMs: number,
    rules: SendQuota & { cooldownMs: number },
    now: number,
  ): Promise<ResendResult> {
    return this.withUser(userId, async (q, limits) => {
      const [row] = await q(this.sql.LOCK_CHALLENGE, [userId, challengeId, now]);
      if (!row) return { status: 'missing' };
      const until = lockedUntil(limits, now);
      if (until !== undefined) return { status: 'locked', lockedUntil: until };
      const sentAt = Number(row.sent_at);
      if (sentAt > 0 && now < sentAt + rules.cooldownMs) return { status: 'too_soon', retryAfterMs: sentAt + rules.cooldownMs - now };
      const counted = countIn(limits.sends, rules.windowMs, now);
      if (counted.count >= rules.limit) return { status: 'quota', retryAfterMs: counted.endsAt - now };
      await q(this.sql.SET_SENDS, [userId, counted.count + 1, counted.endsAt]);
      await q(this.sql.REPLACE_CODE, [userId, challengeId, next.hash, next.expiresAt, now, now + ttlMs]);
      return { status: 'ok' };
    });
  }

  async restoreChallengeCode(
    userId: string,
    challengeId: string,
    undelivered: string,
    previous: { hash: string; expiresAt: number; attempts: number },
  ): Promise<void> {
    await this.query(this.sql.RESTORE_CODE, [userId, challengeId, undelivered, previous.hash, previous.expiresAt, previous.attempts, Date.now()]);
  }

  async attemptChallenge(userId: string, challengeId: string, hash: string, lockout: LockoutRule, now: number): Promise<AttemptResult> {
    const [row] = await this.query(this.sql.ATTEMPT_CHALLENGE, [userId, challengeId, hash, now, lockout.threshold, lockout.windowMs, lockout.durationMs]);
    switch (row!.r_status) {
      case 'ok':
        return { status: 'ok', challenge: JSON.parse(String(row!.r_challenge)) as ChallengeRecord };
      case 'invalid':
        return { status: 'invalid', remainingAttempts: Number(row!.r_remaining) };
      case 'locked':
        return { status: 'locked', lockedUntil: Number(row!.r_at), locked: false };
      case 'locked_now':
        return { status: 'locked', lockedUntil: Number(row!.r_at), locked: true };
      default:
        return { status: row!.r_status as 'missing' | 'expired' | 'exhausted' | 'device_gone' };
    }
  }

  async deleteChallenge(userId: string, challengeId: string): Promise<void> {
    await this.query(this.sql.DELETE_CHALLENGE, [userId, challengeId]);
  }

  async recordFailure(userId: string, lockout: LockoutRule, now: number): Promise<FailureResult> {
    return this.withUser(userId, async (q, limits): Promise<FailureResult> => {
      const until = lockedUntil(limits, now);
      if (until !== undefined) return { status: 'locked', lockedUntil: until, locked: false };
      const locked = await this.fail(q, userId, limits, lockout, now);
      return locked === undefined ? { status: 'counted' } : { status: 'locked', lockedUntil: locked, locked: true };
    });
  }

  async useTotpStep(userId: string, deviceId: string, step: number, status: DeviceStatus, lockout: LockoutRule, now: number): Promise<TotpStepResult> {
    return this.withUser(userId, async (q, limits): Promise<TotpStepResult> => {
      const until = lockedUntil(limits, now);
      if (until !== undefined) return { status: 'locked', lockedUntil: until, locked: false };
      const [row] = await q(this.sql.LOCK_TOTP_DEVICE, [userId, deviceId, status]);
      if (!row) return { status: 'device_gone' };
      const last: unknown = row.last_step === null ? undefined : JSON.parse(String(row.last_step));
      if (typeof last === 'number' && step <= last) {
        const locked = await this.fail(q, userId, limits, lockout, now);
        return locked === undefined ? { status: 'replayed' } : { status: 'locked', lockedUntil: locked, locked: true };
      }
      await q(this.sql.SET_LAST_STEP, [userId, deviceId, step]);
      await this.forgetFailures(q, userId);
      return { status: 'ok' };
    });
  }

  async replaceRecoveryCodes(userId: string, hashes: string[]): Promise<void> {
    await this.withUser(userId, async (q) => {
      await q(this.sql.DELETE_RECOVERY_CODES, [userId]);
      if (hashes.length > 0) await q(this.sql.INSERT_RECOVERY_CODES, [userId, hashes]);
    });
  }

  async countRecoveryCodes(userId: string): Promise<number> {
    const [row] = await this.query(this.sql.COUNT_RECOVERY_CODES, [userId]);
    return Number(row!.count);
  }

  async useRecoveryCode(userId: string, hash: string, lockout: LockoutRule, now: number): Promise<RecoveryResult> {
    return this.withUser(userId, async (q, limits): Promise<RecoveryResult> => {
      const until = lockedUntil(limits, now);
      if (until !== undefined) return { status: 'locked', lockedUntil: until, locked: false };
      const codes = (await q(this.sql.RECOVERY_CODES, [userId])).map((r) => String(r.hash));
      // Every hash is compared, with no early exit: see USE_RECOVERY_CODE in redis-scripts.ts.
      let match: string | undefined;
      for (const stored of codes) if (sameHash(stored, hash)) match = stored;
      if (match !== undefined) {
        await q(this.sql.DELETE_RECOVERY_CODE, [userId, match]);
        await this.forgetFailures(q, userId);
        return { status: 'ok', remaining: codes.length - 1 };
      }
      const locked = await this.fail(q, userId, limits, lockout, now);
      return locked === undefined ? { status: 'invalid' } : { status: 'locked', lockedUntil: locked, locked: true };
    });
  }

  async saveCeremony(ceremony: CeremonyRecord, ttlMs: number): Promise<void> {
    const c = ceremony;
    // Kept for ttlMs from this clock, as a Redis TTL would keep it: the caller gives no time of its own.
    await this.query(this.sql.SAVE_CEREMONY, [c.userId, c.id, c.deviceId, c.purpose, c.challenge, c.binding, c.createdAt, c.expiresAt, Date.now() + ttlMs]);
  }

  async takeCeremony(userId: string, ceremonyId: string, now: number): Promise<CeremonyRecord | null> {
    const [row] = await this.query(this.sql.TAKE_CEREMONY, [userId, ceremonyId]);
    if (!row) return null;
    const ceremony: CeremonyRecord = {
      id: String(row.id),
      userId: String(row.user_id),
      deviceId: row.device_id === null ? null : String(row.device_id),
      purpose: row.purpose as ChallengePurpose,
      challenge: String(row.challenge),
      binding: String(row.binding),
      createdAt: Number(row.created_at),
      expiresAt: Number(row.expires_at),
    };
    return Number(row.drop_at) > now && now < ceremony.expiresAt ? ceremony : null;
  }

  async useSignatureCounter(userId: string, deviceId: string, counter: number, status: DeviceStatus, now: number): Promise<CounterResult> {
    const [row] = await this.query(this.sql.USE_SIGNATURE_COUNTER, [userId, deviceId, counter, status, now]);
    if (Number(row!.found) === 0) return { status: 'device_gone' };
    return { status: Number(row!.moved) === 1 ? 'ok' : 'cloned' };
  }

  async activateCredential(
    userId: string,
    deviceId: string,
    data: Record<string, unknown> & { credentialId: string },
    now: number,
  ): Promise<ActivationResult> {
    return this.withUser(userId, async (q): Promise<ActivationResult> => {
      const [device] = await q(this.sql.LOCK_DEVICE, [userId, deviceId]);
      if (!device || device.status !== 'ACTIVATION_REQUIRED') return { status: 'device_gone' };
      const [held] = await q(this.sql.CREDENTIAL_HELD, [userId, deviceId, data.credentialId]);
      if (Number(held!.held) === 1) return { status: 'duplicate' };
      const [row] = await q(this.sql.ACTIVATE, [userId, deviceId, JSON.stringify(data), now]);
      return { status: 'ok', device: parseDevice(row!) };
    });
  }

  async deleteDeviceChallenges(userId: string, deviceId: string): Promise<void> {
    await this.query(this.sql.DELETE_DEVICE_CHALLENGES, [userId, deviceId]);
  }

  async saveTrustedBrowser(browser: TrustedBrowserRecord): Promise<void> {
    const b = browser;
    await this.query(this.sql.SAVE_TRUSTED, [b.userId, b.id, b.label, b.createdAt, b.lastUsedAt, b.expiresAt, b.tokenHash]);
  }

  async listTrustedBrowsers(userId: string, now: number): Promise<TrustedBrowserRecord[]> {
    return (await this.query(this.sql.LIST_TRUSTED, [userId, now])).map(parseTrusted).sort(byLastUse);
  }

  async useTrustedBrowser(userId: string, browserId: string, tokenHash: string, nextTokenHash: string, now: number): Promise<TrustUseResult> {
    return this.transaction(async (q): Promise<TrustUseResult> => {
      const [row] = await q(this.sql.LOCK_TRUSTED, [userId, browserId]);
      if (!row) return { status: 'missing' };
      const browser = parseTrusted(row);
      if (browser.expiresAt <= now) {
        await q(this.sql.DELETE_TRUSTED, [userId, browserId]);
        return { status: 'missing' };
      }
      if (!sameHash(browser.tokenHash, tokenHash)) {
        // Two cookies claim one record: the thief's or the user's, the store cannot tell, so neither is trusted.
        await q(this.sql.DELETE_TRUSTED, [userId, browserId]);
        return { status: 'replayed' };
      }
      const [rotated] = await q(this.sql.ROTATE_TRUSTED, [userId, browserId, nextTokenHash, now]);
      return { status: 'ok', browser: parseTrusted(rotated!) };
    });
  }

  // An expired one not yet swept is not counted as there, as in the other stores.
  async deleteTrustedBrowser(userId: string, browserId: string): Promise<boolean> {
    const [row] = await this.query(this.sql.DELETE_TRUSTED, [userId, browserId]);
    return row !== undefined && Number(row.expires_at) > Date.now();
  }

  async deleteTrustedBrowsers(userId: string): Promise<number> {
    const [row] = await this.query(this.sql.DELETE_ALL_TRUSTED, [userId, Date.now()]);
    return Number(row!.count);
  }

  async consumeQuota(scope: string, key: string, quota: SendQuota, now: number): Promise<SendResult> {
    const [row] = await this.query(this.sql.CONSUME_QUOTA, [scope, key, now, quota.windowMs, quota.limit]);
    return Number(row!.uses) <= quota.limit ? { ok: true } : { ok: false, retryAfterMs: Number(row!.ends_at) - now };
  }

  async hit(scope: string, key: string, delta: number, windowMs: number, now: number): Promise<HitCount> {
    const [row] = await this.query(this.sql.HIT, [scope, key, delta, now, windowMs]);
    const hits = Number(row!.hits);
    // Counted down to nothing: the window is over, as the other stores delete it (the row waits for sweep()).
    return hits === 0 ? { hits: 0, resetAt: now } : { hits, resetAt: Number(row!.ends_at) };
  }

  async getStamp(userId: string, candidate: string): Promise<string> {
    const [row] = await this.query(this.sql.GET_STAMP, [userId, candidate]);
    return String(row!.stamp);
  }

  async renewStamp(userId: string, stamp: string): Promise<void> {
    await this.query(this.sql.SET_STAMP, [userId, stamp]);
  }

  async getLock(userId: string, now: number): Promise<number | null> {
    const [row] = await this.query(this.sql.GET_LOCK, [userId, now]);
    return row ? Number(row.locked_until) : null;
  }

  async clearLock(userId: string): Promise<void> {
    await this.query(this.sql.CLEAR_LOCK, [userId]);
  }
}

function tablesOf(options: Pick<PostgresMfaStoreOptions, 'tablePrefix' | 'schema'>): Tables {
  const prefix = options.tablePrefix ?? 'mfa_';
  const prefixProblem = identifierProblem(prefix, MAX_PREFIX_LENGTH);
  if (prefixProblem) throw new TypeError(`express-mfa: PostgresMfaStore tablePrefix must be ${prefixProblem}, such as 'mfa_'.`);
  if (options.schema !== undefined) {
    const schemaProblem = identifierProblem(options.schema, 63);
    if (schemaProblem) throw new TypeError(`express-mfa: PostgresMfaStore schema must be ${schemaProblem}, such as 'auth'; or leave it out for the connection's search_path.`);
  }
  return tables(prefix, options.schema);
}

/** The advisory lock of one set of tables: a 64-bit key from their migrations table's name, so other sets migrate undisturbed. */
function advisoryKey(name: string): string {
  return createHash('sha256').update(`express-mfa:${name}`).digest().readBigInt64BE(0).toString();
}

/** When the user's lock ends, or undefined when they are not locked at `now`. */
function lockedUntil(limits: UserLimits, now: number): number | undefined {
  return limits.lockedUntil !== undefined && limits.lockedUntil > now ? limits.lockedUntil : undefined;
}

/** Byte for byte, as the other stores compare: whatever encoding the caller's hashes are in. */
function sameHash(stored: string, candidate: string): boolean {
  const a = Buffer.from(stored);
  const b = Buffer.from(candidate);
  return a.length === b.length && timingSafeEqual(a, b);
}

// bigint columns come as strings from pg's default parsers (or as whatever the app set them to): Number() takes either.
const time = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));
const textOrNull = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));

function parseLimits(row: Row): UserLimits {
  const window = (count: unknown, endsAt: unknown): Window | undefined => (endsAt === null ? undefined : { count: Number(count), endsAt: Number(endsAt) });
  return {
    sends: window(row.sends_count, row.sends_ends_at),
    failures: window(row.failures_count, row.failures_ends_at),
    lockedUntil: time(row.locked_until) ?? undefined,
  };
}

/** `data` is selected as text and parsed here, so the app's own jsonb parser, if it set one, changes nothing. */
function parseDevice(row: Row): DeviceRecord {
  return {
    id: String(row.id),
    userId: String(row.user_id),
    type: String(row.type),
    data: JSON.parse(String(row.data)) as DeviceRecord['data'],
    nickname: textOrNull(row.nickname),
    status: row.status as DeviceStatus,
    order: Number(row.sort_order),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    activatedAt: time(row.activated_at),
    activationChallengeId: textOrNull(row.activation_challenge_id),
  };
}

function parseChallenge(row: Row): ChallengeRecord {
  return {
    id: String(row.id),
    userId: String(row.user_id),
    deviceId: String(row.device_id),
    purpose: row.purpose as ChallengePurpose,
    deviceStatus: row.device_status as DeviceStatus,
    hash: String(row.hash),
    attempts: Number(row.attempts),
    maxAttempts: Number(row.max_attempts),
    createdAt: Number(row.created_at),
    sentAt: Number(row.sent_at),
    expiresAt: Number(row.expires_at),
  };
}

function parseTrusted(row: Row): TrustedBrowserRecord {
  return {
    id: String(row.id),
    userId: String(row.user_id),
    label: String(row.label),
    createdAt: Number(row.created_at),
    lastUsedAt: Number(row.last_used_at),
    expiresAt: Number(row.expires_at),
    tokenHash: String(row.token_hash),
  };
}
