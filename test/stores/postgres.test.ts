import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/core/errors.js';
import { PostgresMfaStore } from '../../src/stores/postgres.js';
import { connectPostgres, createSchema, DATABASE_URL, dropSchema, poolOptions } from '../helpers/postgres.js';
import { storeConformance } from './conformance.js';

const pool = await connectPostgres();
const LOCK = { threshold: 3, windowMs: 60_000, durationMs: 120_000 };

describe.skipIf(!pool)('postgres', () => {
  const schemas: string[] = [];
  let schema: string;
  /** A fresh schema, dropped after the file. */
  const fresh = async (name: string) => {
    const made = await createSchema(pool!, name);
    schemas.push(made);
    return made;
  };

  beforeAll(async () => {
    schema = await fresh('conformance');
    await new PostgresMfaStore({ pool: pool!, schema }).migrate();
  });
  afterAll(async () => {
    for (const made of schemas) await dropSchema(pool!, made);
    await pool!.end();
  });

  // Every case has users of its own: one set of tables serves them all.
  storeConformance('postgres', async () => ({ store: new PostgresMfaStore({ pool: pool!, schema }), cleanup: async () => {} }));

  /** Tables, columns and indexes of a schema, with the schema's own name taken out so that two schemas compare. */
  async function catalog(name: string) {
    const columns = await pool!.query(
      `SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns
       WHERE table_schema = $1 ORDER BY table_name, ordinal_position`,
      [name],
    );
    const indexes = await pool!.query(`SELECT indexname, replace(indexdef, $1, 'S') AS def FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname`, [name]);
    return { columns: columns.rows, indexes: indexes.rows };
  }

  const versions = async (name: string, prefix = 'mfa_') =>
    (await pool!.query(`SELECT version FROM "${name}"."${prefix}migrations" ORDER BY version`)).rows.map((r) => r.version as number);

  describe('migrate()', () => {
    it('creates every table once; a second migrate() changes nothing', async () => {
      const name = await fresh('twice');
      const store = new PostgresMfaStore({ pool: pool!, schema: name });
      await store.migrate();
      const first = await catalog(name);
      expect(first.columns.map((c) => c.table_name)).toEqual(expect.arrayContaining(['mfa_users', 'mfa_devices', 'mfa_challenges', 'mfa_migrations']));
      expect(await versions(name)).toEqual(PostgresMfaStore.migrations().map((m) => m.version));
      await store.migrate();
      expect(await catalog(name)).toEqual(first);
      expect(await versions(name)).toEqual(PostgresMfaStore.migrations().map((m) => m.version));
    });

    it('two instances migrating at once, each with its own pool, both succeed', async () => {
      const name = await fresh('parallel');
      const pools = [new pg.Pool(poolOptions()), new pg.Pool(poolOptions())];
      try {
        await Promise.all(pools.map((p) => new PostgresMfaStore({ pool: p, schema: name }).migrate()));
        expect(await versions(name)).toEqual(PostgresMfaStore.migrations().map((m) => m.version));
      } finally {
        await Promise.all(pools.map((p) => p.end()));
      }
    });

    it('the exported migrations, applied by hand, make the very schema migrate() makes, and migrate() then has nothing to do', async () => {
      const [byStore, byHand] = [await fresh('bystore'), await fresh('byhand')];
      await new PostgresMfaStore({ pool: pool!, schema: byStore }).migrate();
      for (const { sql } of PostgresMfaStore.migrations({ schema: byHand })) await pool!.query(`BEGIN; ${sql} COMMIT;`);
      const made = await catalog(byHand);
      expect(made).toEqual(await catalog(byStore));
      await new PostgresMfaStore({ pool: pool!, schema: byHand }).migrate();
      expect(await catalog(byHand)).toEqual(made);
    });
  });

  it('a database at an earlier version gets only the versions it lacks, its rows kept', async () => {
    const name = await fresh('upgrade');
    const [first] = PostgresMfaStore.migrations({ schema: name });
    await pool!.query(`BEGIN; ${first!.sql} COMMIT;`);
    const store = new PostgresMfaStore({ pool: pool!, schema: name });
    expect(await store.getStamp('kept', 'stamp-1')).toBe('stamp-1');
    await store.migrate();
    expect(await versions(name)).toEqual(PostgresMfaStore.migrations().map((m) => m.version));
    expect(await store.getStamp('kept', 'other')).toBe('stamp-1');
    expect(await store.hit('writes', '203.0.113.7', 1, 60_000, 1_000)).toEqual({ hits: 1, resetAt: 61_000 });
  });

  describe('options', () => {
    it('a table prefix, and the search_path when no schema is given', async () => {
      const name = await fresh('prefix');
      // A pool whose connections look in the fresh schema first, as an app's role with its own search_path would.
      const scoped = new pg.Pool({ ...poolOptions(DATABASE_URL), options: `-c search_path=${name}` });
      try {
        const store = new PostgresMfaStore({ pool: scoped, tablePrefix: 'acme_2fa_' });
        await store.migrate();
        expect(await store.getStamp('u1', 'first')).toBe('first');
        expect((await pool!.query(`SELECT stamp FROM "${name}".acme_2fa_users WHERE user_id = 'u1'`)).rows).toEqual([{ stamp: 'first' }]);
        // Another prefix in the same schema is another store.
        const other = new PostgresMfaStore({ pool: pool!, schema: name, tablePrefix: 'other_' });
        await other.migrate();
        expect(await other.getStamp('u1', 'second')).toBe('second');
      } finally {
        await scoped.end();
      }
    });

    it('refuses a pool that is none, and a prefix or schema that is no plain identifier, saying what to write', () => {
      expect(() => new PostgresMfaStore({} as never)).toThrow(/needs \{ pool \}: a Pool from the pg package/);
      expect(() => new PostgresMfaStore({ pool: pool!, tablePrefix: 'mfa"; DROP TABLE x; --' })).toThrow(/tablePrefix must be lower-case letters, digits and underscores.*such as 'mfa_'/);
      expect(() => new PostgresMfaStore({ pool: pool!, tablePrefix: 'Mfa_' })).toThrow(TypeError);
      expect(() => new PostgresMfaStore({ pool: pool!, tablePrefix: '' })).toThrow(TypeError);
      expect(() => new PostgresMfaStore({ pool: pool!, tablePrefix: 'x'.repeat(41) })).toThrow(/at most 40 characters/);
      expect(() => new PostgresMfaStore({ pool: pool!, schema: 'my-schema' })).toThrow(/schema must be lower-case letters.*such as 'auth'/);
      expect(() => PostgresMfaStore.migrations({ schema: '1x' })).toThrow(TypeError);
    });

    it('a table that is not there is a StoreUnavailableError, never a raw pg error', async () => {
      const name = await fresh('unmigrated');
      const store = new PostgresMfaStore({ pool: pool!, schema: name });
      await expect(store.listDevices('u1')).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.recordFailure('u1', LOCK, Date.now())).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', cause: { code: '42P01' } });
    });
  });

  describe('sweep()', () => {
    it('deletes what expired at its now and forgets ended limits, and never a live row', async () => {
      const name = await fresh('sweep');
      const store = new PostgresMfaStore({ pool: pool!, schema: name });
      await store.migrate();
      const now = Date.now();
      const count = async (table: string, where = 'true') => Number((await pool!.query(`SELECT count(*) FROM "${name}".mfa_${table} WHERE ${where}`)).rows[0].count);
      const base = { deviceId: 'd1', purpose: 'signon', deviceStatus: 'ACTIVE', hash: 'h', attempts: 0, maxAttempts: 3, createdAt: now, sentAt: now, expiresAt: now + 1_000 } as const;
      const quota = { limit: 10, windowMs: 1_000 };
      for (const user of ['short', 'long']) {
        const ttl = user === 'short' ? 1_000 : 600_000;
        await store.insertDevice({ id: 'd1', userId: user, type: 'some-method', data: {}, nickname: null, status: 'ACTIVE', createdAt: now, updatedAt: now, activatedAt: now, activationChallengeId: null }, 5);
        await store.createChallenge({ ...base, id: `c-${user}`, userId: user }, ttl, user === 'short' ? quota : { ...quota, windowMs: 600_000 }, now);
        await store.saveCeremony({ id: `w-${user}`, userId: user, deviceId: null, purpose: 'signon', challenge: 'x', binding: 'b', createdAt: now, expiresAt: now + ttl }, ttl);
        await store.saveTrustedBrowser({ id: `t-${user}`, userId: user, label: 'l', createdAt: now, lastUsedAt: now, expiresAt: now + ttl, tokenHash: 'th' });
        await store.consumeQuota('recipient', user, user === 'short' ? quota : { ...quota, windowMs: 600_000 }, now);
        await store.recordFailure(user, { ...LOCK, windowMs: ttl }, now);
        await store.replaceRecoveryCodes(user, ['rc']);
      }
      // Nobody's but a lock that ends, and a user who is nothing but a stamp.
      for (let i = 0; i < LOCK.threshold; i++) await store.recordFailure('locked', { ...LOCK, durationMs: 1_000 }, now);
      await store.getStamp('stamped', 's');

      expect(await store.sweep(now)).toBe(0);
      for (const table of ['challenges', 'ceremonies', 'trusted_browsers', 'quotas']) expect(await count(table), table).toBe(2);

      // Just before the short rows expire, nothing goes; at their expiry, they do.
      expect(await store.sweep(now + 999)).toBe(0);
      const deleted = await store.sweep(now + 60_000);
      for (const table of ['challenges', 'ceremonies', 'trusted_browsers', 'quotas']) expect(await count(table), table).toBe(1);
      expect((await pool!.query(`SELECT id FROM "${name}".mfa_challenges`)).rows).toEqual([{ id: 'c-long' }]);
      // The lock and the short windows ended: those users' rows held nothing else, so they went too (their devices and codes stay).
      expect(await count('users', `user_id IN ('locked', 'short')`)).toBe(0);
      expect(deleted).toBe(4 + 2);
      expect((await pool!.query(`SELECT user_id, sends_count, failures_count, locked_until FROM "${name}".mfa_users ORDER BY user_id`)).rows).toEqual([
        { user_id: 'long', sends_count: 1, failures_count: 1, locked_until: null },
        { user_id: 'stamped', sends_count: 0, failures_count: 0, locked_until: null },
      ]);
      // Devices and recovery codes never expire.
      expect(await count('devices')).toBe(2);
      expect(await count('recovery_codes')).toBe(2);
      expect(await store.getStamp('stamped', 'other')).toBe('s');
      expect(await store.countRecoveryCodes('short')).toBe(1);
      // What was left is live: the long challenge still answers.
      expect(await store.attemptChallenge('long', 'c-long', 'h', LOCK, now + 500)).toMatchObject({ status: 'ok' });
    });
  });
});
