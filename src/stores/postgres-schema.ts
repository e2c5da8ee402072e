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
