import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** The options every test pool is made with: fail fast rather than wait on a database that does not answer. */
export const poolOptions = (connectionString = DATABASE_URL): pg.PoolConfig => ({ connectionString, connectionTimeoutMillis: 2_000, max: 10 });

/**
 * A pool that reached the database, or null when PostgreSQL does not answer.
 * Under CI a missing PostgreSQL is a failure, never a skip.
 */
export async function connectPostgres(connectionString = DATABASE_URL): Promise<pg.Pool | null> {
  const pool = new pg.Pool(poolOptions(connectionString));
  // An idle client whose server went away is reported here; unheard, it would end the test run.
  pool.on('error', () => {});
  try {
    await pool.query('SELECT 1');
    return pool;
  } catch (error) {
    await pool.end().catch(() => {});
    if (process.env.CI) throw new Error(`PostgreSQL is required under CI and does not answer at ${DATABASE_URL}: ${(error as Error).message}`);
    console.warn(`[tests] skipping PostgreSQL tests: no PostgreSQL at ${DATABASE_URL} (${(error as Error).message}). Start PostgreSQL or set DATABASE_URL to run them.`);
    return null;
  }
}

/** A fresh schema of the test's own, to hand to PostgresMfaStore's `schema` option; dropSchema removes it with all it holds. */
export async function createSchema(pool: pg.Pool, name: string): Promise<string> {
  const schema = `test_${name}_${randomBytes(4).toString('hex')}`;
  await pool.query(`CREATE SCHEMA "${schema}"`);
  return schema;
}

export async function dropSchema(pool: pg.Pool, schema: string): Promise<void> {
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}
