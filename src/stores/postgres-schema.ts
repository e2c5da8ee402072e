/**
 * The tables behind PostgresMfaStore, as numbered migrations. A version,
 * once released, is never edited: a change of schema is a new version at
 * the end of MIGRATIONS, which migrate() applies where it is missing.
 */

/** Where the store's tables live: every name already quoted, and schema-qualified when a schema is given. */
export interface Tables {
  users: string;
  devices: string;
  challenges: string;
  ceremonies: string;
  recoveryCodes: string;
  trustedBrowsers: string;
  quotas: string;
  hits: string;
  migrations: string;
  /** A function's name, schema-qualified as the tables are. */
  fn(name: string): string;
  /** An index's name: unqualified, as CREATE INDEX takes it (an index lives in its table's schema). */
  index(name: string): string;
}

/** The longest table or index name after the prefix ('trusted_browsers_expiry'), so that prefix + name fits PostgreSQL's 63 bytes. */
export const MAX_PREFIX_LENGTH = 40;
const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/** Why `value` cannot be a table prefix or schema name, or undefined when it can. Lower case only: no quoting rule to get wrong. */
export function identifierProblem(value: unknown, maxLength: number): string | undefined {
  if (typeof value !== 'string' || !IDENTIFIER.test(value)) return 'lower-case letters, digits and underscores, not starting with a digit';
  if (value.length > maxLength) return `at most ${maxLength} characters`;
  return undefined;
}

export function tables(prefix: string, schema?: string): Tables {
  const name = (table: string) => (schema ? `"${schema}"."${prefix}${table}"` : `"${prefix}${table}"`);
  return {
    users: name('users'),
    devices: name('devices'),
    challenges: name('challenges'),
    ceremonies: name('ceremonies'),
    recoveryCodes: name('recovery_codes'),
    trustedBrowsers: name('trusted_browsers'),
    quotas: name('quotas'),
    hits: name('hits'),
    migrations: name('migrations'),
    fn: name,
    index: (index) => `"${prefix}${index}"`,
  };
}

export interface Migration {
  version: number;
  sql: string;
}

/**
 * Times are bigint milliseconds, as the app gives them: every expiry is
 * compared with the app's `now`, never the database's clock. `drop_at` is
 * when a row stops counting at all (a Redis TTL); `expires_at` is the app's
 * own expiry, which answers "expired" until then.
 */
const MIGRATIONS: ReadonlyArray<(t: Tables) => Migration> = [
  (t) => ({
    version: 1,
    sql: `
-- One row per user, created on first use: locked FOR UPDATE, it serialises the user's steps; it holds their limits and stamp.
CREATE TABLE ${t.users} (
  user_id text PRIMARY KEY,
  stamp text,
  sends_count integer NOT NULL DEFAULT 0,
  sends_ends_at bigint,
  failures_count integer NOT NULL DEFAULT 0,
  failures_ends_at bigint,
  locked_until bigint
);
CREATE TABLE ${t.devices} (
  user_id text NOT NULL,
  id text NOT NULL,
  type text NOT NULL,
  data jsonb NOT NULL,
  nickname text,
  status text NOT NULL,
  sort_order integer NOT NULL,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  activated_at bigint,
  activation_challenge_id text,
  PRIMARY KEY (user_id, id)
);
CREATE TABLE ${t.challenges} (
  user_id text NOT NULL,
  id text NOT NULL,
  device_id text NOT NULL,
  purpose text NOT NULL,
  device_status text NOT NULL,
  hash text NOT NULL,
  attempts integer NOT NULL,
  max_attempts integer NOT NULL,
  created_at bigint NOT NULL,
  sent_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  drop_at bigint NOT NULL,
  PRIMARY KEY (user_id, id)
);
CREATE INDEX ${t.index('challenges_device')} ON ${t.challenges} (user_id, device_id);
CREATE INDEX ${t.index('challenges_drop')} ON ${t.challenges} (drop_at);
CREATE TABLE ${t.ceremonies} (
  user_id text NOT NULL,
  id text NOT NULL,
  device_id text,
  purpose text NOT NULL,
  challenge text NOT NULL,
  binding text NOT NULL,
  created_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  drop_at bigint NOT NULL,
  PRIMARY KEY (user_id, id)
);
CREATE INDEX ${t.index('ceremonies_device')} ON ${t.ceremonies} (user_id, device_id);
CREATE INDEX ${t.index('ceremonies_drop')} ON ${t.ceremonies} (drop_at);
CREATE TABLE ${t.recoveryCodes} (
  user_id text NOT NULL,
  hash text NOT NULL,
  PRIMARY KEY (user_id, hash)
);
CREATE TABLE ${t.trustedBrowsers} (
  user_id text NOT NULL,
  id text NOT NULL,
  label text NOT NULL,
  created_at bigint NOT NULL,
  last_used_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  token_hash text NOT NULL,
  PRIMARY KEY (user_id, id)
);
CREATE INDEX ${t.index('trusted_browsers_expiry')} ON ${t.trustedBrowsers} (expires_at);
-- Quotas shared by every user: uses counts every try in the window, the first \`limit\` of which pass.
CREATE TABLE ${t.quotas} (
  scope text NOT NULL,
  quota_key text NOT NULL,
  uses integer NOT NULL,
  ends_at bigint NOT NULL,
  PRIMARY KEY (scope, quota_key)
);
CREATE INDEX ${t.index('quotas_ends')} ON ${t.quotas} (ends_at);
`,
  }),
  (t) => ({
    version: 2,
    sql: `
-- Fixed-window hit counters shared by every instance (the rate limit per client address).
CREATE TABLE ${t.hits} (
  scope text NOT NULL,
  hit_key text NOT NULL,
  hits bigint NOT NULL,
  ends_at bigint NOT NULL,
  PRIMARY KEY (scope, hit_key)
);
CREATE INDEX ${t.index('hits_ends')} ON ${t.hits} (ends_at);
`,
  }),
  (t) => ({
    version: 3,
    sql: `
-- The sign-on's two steps that need the user's row lock, each one round trip
-- instead of a transaction of five or six: the same rules as postgres.ts's
-- other locked steps (lockedUntil, countIn, fail), written once more here.
CREATE FUNCTION ${t.fn('create_challenge')}(
  p_user text, p_id text, p_device text, p_purpose text, p_device_status text, p_hash text, p_attempts integer, p_max_attempts integer,
  p_created bigint, p_sent bigint, p_expires bigint, p_drop bigint, p_now bigint, p_window bigint, p_limit integer
) RETURNS TABLE (r_status text, r_at bigint) LANGUAGE plpgsql AS $fn$
DECLARE
  u record;
  v_count integer;
  v_ends bigint;
BEGIN
  INSERT INTO ${t.users} AS x (user_id) VALUES (p_user) ON CONFLICT (user_id) DO UPDATE SET user_id = EXCLUDED.user_id
    RETURNING x.sends_count, x.sends_ends_at, x.locked_until INTO u;
  IF u.locked_until > p_now THEN
    RETURN QUERY SELECT 'locked'::text, u.locked_until;
    RETURN;
  END IF;
  IF u.sends_ends_at > p_now THEN
    v_count := u.sends_count;
    v_ends := u.sends_ends_at;
  ELSE
    v_count := 0;
    v_ends := p_now + p_window;
  END IF;
  IF v_count >= p_limit THEN
    RETURN QUERY SELECT 'quota'::text, v_ends - p_now;
    RETURN;
  END IF;
  UPDATE ${t.users} SET sends_count = v_count + 1, sends_ends_at = v_ends WHERE user_id = p_user;
  INSERT INTO ${t.challenges} AS c (user_id, id, device_id, purpose, device_status, hash, attempts, max_attempts, created_at, sent_at, expires_at, drop_at)
    VALUES (p_user, p_id, p_device, p_purpose, p_device_status, p_hash, p_attempts, p_max_attempts, p_created, p_sent, p_expires, p_drop)
    ON CONFLICT (user_id, id) DO UPDATE SET device_id = EXCLUDED.device_id, purpose = EXCLUDED.purpose, device_status = EXCLUDED.device_status,
      hash = EXCLUDED.hash, attempts = EXCLUDED.attempts, max_attempts = EXCLUDED.max_attempts, created_at = EXCLUDED.created_at,
      sent_at = EXCLUDED.sent_at, expires_at = EXCLUDED.expires_at, drop_at = EXCLUDED.drop_at;
  RETURN QUERY SELECT 'ok'::text, NULL::bigint;
END
$fn$;

CREATE FUNCTION ${t.fn('attempt_challenge')}(
  p_user text, p_id text, p_hash text, p_now bigint, p_threshold integer, p_window bigint, p_duration bigint
) RETURNS TABLE (r_status text, r_at bigint, r_remaining integer, r_challenge text) LANGUAGE plpgsql AS $fn$
DECLARE
  u record;
  ch record;
  v_attempts integer;
  v_stored bytea;
  v_given bytea;
  v_diff integer := 0;
  v_failures integer;
  v_ends bigint;
BEGIN
  INSERT INTO ${t.users} AS x (user_id) VALUES (p_user) ON CONFLICT (user_id) DO UPDATE SET user_id = EXCLUDED.user_id
    RETURNING x.failures_count, x.failures_ends_at, x.locked_until INTO u;
  -- Looked up before the lock is checked, so that a forged id tells nothing.
  SELECT c.*, (SELECT d.status FROM ${t.devices} d WHERE d.user_id = c.user_id AND d.id = c.device_id) AS current_device_status INTO ch
    FROM ${t.challenges} c WHERE c.user_id = p_user AND c.id = p_id AND c.drop_at > p_now FOR UPDATE OF c;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'missing'::text, NULL::bigint, NULL::integer, NULL::text;
    RETURN;
  END IF;
  IF u.locked_until > p_now THEN
    RETURN QUERY SELECT 'locked'::text, u.locked_until, NULL::integer, NULL::text;
    RETURN;
  END IF;
  IF p_now >= ch.expires_at THEN
    RETURN QUERY SELECT 'expired'::text, NULL::bigint, NULL::integer, NULL::text;
    RETURN;
  END IF;
  IF ch.attempts >= ch.max_attempts THEN
    RETURN QUERY SELECT 'exhausted'::text, NULL::bigint, NULL::integer, NULL::text;
    RETURN;
  END IF;
  IF ch.current_device_status IS DISTINCT FROM ch.device_status THEN
    RETURN QUERY SELECT 'device_gone'::text, NULL::bigint, NULL::integer, NULL::text;
    RETURN;
  END IF;
  v_attempts := ch.attempts + 1;
  -- Every byte compared whatever the first difference, as the other stores compare.
  v_stored := convert_to(ch.hash, 'UTF8');
  v_given := convert_to(p_hash, 'UTF8');
  IF length(v_stored) <> length(v_given) THEN
    v_diff := 1;
  ELSE
    FOR i IN 0 .. length(v_stored) - 1 LOOP
      v_diff := v_diff | (get_byte(v_stored, i) # get_byte(v_given, i));
    END LOOP;
  END IF;
  IF v_diff = 0 THEN
    -- Single use: the record goes at once; a replay finds nothing. The user's failures are forgotten, a lock stays.
    DELETE FROM ${t.challenges} WHERE user_id = p_user AND id = p_id;
    UPDATE ${t.users} SET failures_count = 0, failures_ends_at = NULL WHERE user_id = p_user;
    RETURN QUERY SELECT 'ok'::text, NULL::bigint, NULL::integer,
      json_build_object('id', ch.id, 'userId', ch.user_id, 'deviceId', ch.device_id, 'purpose', ch.purpose, 'deviceStatus', ch.device_status,
        'hash', ch.hash, 'attempts', v_attempts, 'maxAttempts', ch.max_attempts, 'createdAt', ch.created_at, 'sentAt', ch.sent_at,
        'expiresAt', ch.expires_at)::text;
    RETURN;
  END IF;
  UPDATE ${t.challenges} SET attempts = v_attempts WHERE user_id = p_user AND id = p_id;
  IF u.failures_ends_at > p_now THEN
    v_failures := u.failures_count + 1;
    v_ends := u.failures_ends_at;
  ELSE
    v_failures := 1;
    v_ends := p_now + p_window;
  END IF;
  IF v_failures < p_threshold THEN
    UPDATE ${t.users} SET failures_count = v_failures, failures_ends_at = v_ends WHERE user_id = p_user;
    RETURN QUERY SELECT 'invalid'::text, NULL::bigint, ch.max_attempts - v_attempts, NULL::text;
    RETURN;
  END IF;
  UPDATE ${t.users} SET failures_count = 0, failures_ends_at = NULL, locked_until = p_now + p_duration WHERE user_id = p_user;
  RETURN QUERY SELECT 'locked_now'::text, p_now + p_duration, NULL::integer, NULL::text;
END
$fn$;
`,
  }),
];

/**
 * Every version as it is applied: each self-contained (it makes the
 * migrations table when missing, and records itself), so that a team may
 * run them with its own migration tool and migrate() afterwards finds
 * nothing to do.
 */
export function migrations(t: Tables): Migration[] {
  return MIGRATIONS.map((make) => {
    const { version, sql } = make(t);
    return {
      version,
      sql: `${migrationsTableSql(t)}
${sql.trim()}
INSERT INTO ${t.migrations} (version) VALUES (${version}) ON CONFLICT (version) DO NOTHING;
`,
    };
  });
}

/** The table of applied versions, made when missing. */
export function migrationsTableSql(t: Tables): string {
  return `CREATE TABLE IF NOT EXISTS ${t.migrations} (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());`;
}
