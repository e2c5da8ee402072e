/**
 * The statements behind PostgresMfaStore, one per step or part of a step.
 * A statement that checks and acts on its own (an upsert, a conditional
 * DELETE … RETURNING) is atomic by itself; the others run inside a
 * transaction that first locks the user's row (LOCK_USER), so that one
 * user's steps run one at a time on every instance; the sign-on's two
 * locked steps are SQL functions instead (migration 3), one round trip
 * each, that lock the row the same way. Under READ COMMITTED
 * each statement reads what was committed before it started, so the
 * statements after the lock see every earlier step of the user whole.
 * Times come from the app as parameters, never from the database's clock.
 */
import type { Tables } from './postgres-schema.js';

const DEVICE = 'user_id, id, type, data::text AS data, nickname, status, sort_order, created_at, updated_at, activated_at, activation_challenge_id';
const CHALLENGE = 'user_id, id, device_id, purpose, device_status, hash, attempts, max_attempts, created_at, sent_at, expires_at';
const CEREMONY = 'user_id, id, device_id, purpose, challenge, binding, created_at, expires_at, drop_at';
const TRUSTED = 'user_id, id, label, created_at, last_used_at, expires_at, token_hash';

export type Statements = ReturnType<typeof statements>;

export function statements(t: Tables) {
  return {
    /**
     * Creates the user's row when missing and locks it until the transaction
     * ends, in one statement: DO UPDATE (not DO NOTHING) locks a row that is
     * already there, and returns it either way. → the user's limits.
     */
    LOCK_USER: `INSERT INTO ${t.users} (user_id) VALUES ($1)
      ON CONFLICT (user_id) DO UPDATE SET user_id = EXCLUDED.user_id
      RETURNING sends_count, sends_ends_at, failures_count, failures_ends_at, locked_until`,
    SET_SENDS: `UPDATE ${t.users} SET sends_count = $2, sends_ends_at = $3 WHERE user_id = $1`,
    /** A null lock keeps the one there: only a failure that locks sets it. */
    SET_FAILURES: `UPDATE ${t.users} SET failures_count = $2, failures_ends_at = $3, locked_until = COALESCE($4, locked_until) WHERE user_id = $1`,

    LIST_DEVICES: `SELECT ${DEVICE} FROM ${t.devices} WHERE user_id = $1`,
    GET_DEVICE: `SELECT ${DEVICE} FROM ${t.devices} WHERE user_id = $1 AND id = $2`,
    /** Under the user's lock: how many devices, and the highest place. */
    DEVICE_PLACES: `SELECT count(*)::int AS count, COALESCE(max(sort_order), -1)::int AS last FROM ${t.devices} WHERE user_id = $1`,
    /** One of the same id is replaced, as the other stores replace it. */
    INSERT_DEVICE: `INSERT INTO ${t.devices} (user_id, id, type, data, nickname, status, sort_order, created_at, updated_at, activated_at, activation_challenge_id)
      VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9, $10, $11)
      ON CONFLICT (user_id, id) DO UPDATE SET type = EXCLUDED.type, data = EXCLUDED.data, nickname = EXCLUDED.nickname, status = EXCLUDED.status,
        sort_order = EXCLUDED.sort_order, created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at, activated_at = EXCLUDED.activated_at,
        activation_challenge_id = EXCLUDED.activation_challenge_id
      RETURNING ${DEVICE}`,
    /** $3: the patch as JSON; a field it does not hold stays. */
    UPDATE_DEVICE: `UPDATE ${t.devices} SET
        nickname = CASE WHEN $3::jsonb ? 'nickname' THEN $3::jsonb->>'nickname' ELSE nickname END,
        status = CASE WHEN $3::jsonb ? 'status' THEN $3::jsonb->>'status' ELSE status END,
        activated_at = CASE WHEN $3::jsonb ? 'activatedAt' THEN ($3::jsonb->>'activatedAt')::bigint ELSE activated_at END,
        activation_challenge_id = CASE WHEN $3::jsonb ? 'activationChallengeId' THEN $3::jsonb->>'activationChallengeId' ELSE activation_challenge_id END,
        updated_at = CASE WHEN $3::jsonb ? 'updatedAt' THEN ($3::jsonb->>'updatedAt')::bigint ELSE updated_at END
      WHERE user_id = $1 AND id = $2
      RETURNING ${DEVICE}`,
    DEVICE_IDS: `SELECT id FROM ${t.devices} WHERE user_id = $1`,
    /** $2: every id of the user, first to last. */
    SET_ORDER: `UPDATE ${t.devices} d SET sort_order = o.place - 1
      FROM unnest($2::text[]) WITH ORDINALITY AS o(id, place)
      WHERE d.user_id = $1 AND d.id = o.id AND d.sort_order <> o.place - 1`,
    /** $3 keepLastActive: then an ACTIVE device stays unless another is ACTIVE; atomic only under the user's lock. */
    DELETE_DEVICE: `DELETE FROM ${t.devices} d WHERE d.user_id = $1 AND d.id = $2
        AND (NOT $3::boolean OR d.status <> 'ACTIVE'
          OR EXISTS (SELECT 1 FROM ${t.devices} o WHERE o.user_id = $1 AND o.id <> $2 AND o.status = 'ACTIVE'))
      RETURNING ${DEVICE}`,

    /** One of the same id is replaced. */
    /** One round trip: create_challenge (migration 3) locks the user's row, checks the lock and the quota, counts the send, stores the challenge. */
    CREATE_CHALLENGE: `SELECT r_status, r_at FROM ${t.fn('create_challenge')}($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
    /** One round trip: attempt_challenge (migration 3), the whole guess under the user's row lock. */
    ATTEMPT_CHALLENGE: `SELECT r_status, r_at, r_remaining, r_challenge FROM ${t.fn('attempt_challenge')}($1, $2, $3, $4, $5, $6, $7)`,
    GET_CHALLENGE: `SELECT ${CHALLENGE} FROM ${t.challenges} WHERE user_id = $1 AND id = $2 AND drop_at > $3`,
    /** The live challenge, locked, with the status its device has now (null: none). */
    LOCK_CHALLENGE: `SELECT ${CHALLENGE},
        (SELECT d.status FROM ${t.devices} d WHERE d.user_id = c.user_id AND d.id = c.device_id) AS current_device_status
      FROM ${t.challenges} c WHERE c.user_id = $1 AND c.id = $2 AND c.drop_at > $3 FOR UPDATE`,
    REPLACE_CODE: `UPDATE ${t.challenges} SET hash = $3, expires_at = $4, sent_at = $5, attempts = 0, drop_at = $6 WHERE user_id = $1 AND id = $2`,
    /** $3: the undelivered hash; nothing changes unless the challenge still holds it. */
    RESTORE_CODE: `UPDATE ${t.challenges} SET hash = $4, expires_at = $5, attempts = $6, sent_at = 0
      WHERE user_id = $1 AND id = $2 AND hash = $3 AND drop_at > $7`,
    DELETE_CHALLENGE: `DELETE FROM ${t.challenges} WHERE user_id = $1 AND id = $2`,
    /** A ceremony for any of the user's passkeys has no device_id, so it stays. */
    DELETE_DEVICE_CHALLENGES: `WITH gone AS (DELETE FROM ${t.challenges} WHERE user_id = $1 AND device_id = $2)
      DELETE FROM ${t.ceremonies} WHERE user_id = $1 AND device_id = $2`,

    /** The device in that status, locked, with its data's lastStep as JSON (null: none). */
    LOCK_TOTP_DEVICE: `SELECT (data->'lastStep')::text AS last_step FROM ${t.devices} WHERE user_id = $1 AND id = $2 AND status = $3 FOR UPDATE`,
    SET_LAST_STEP: `UPDATE ${t.devices} SET data = jsonb_set(data, '{lastStep}', to_jsonb($3::bigint)) WHERE user_id = $1 AND id = $2`,

    /**
     * One statement: the CTE's FOR UPDATE waits for a parallel assertion
     * and then reads the counter it left, so of parallel assertions with
     * one counter only the first moves it. → found (the device, in that
     * status), moved (ok).
     */
    USE_SIGNATURE_COUNTER: `WITH old AS (
        SELECT id, CASE WHEN jsonb_typeof(data->'counter') = 'number' THEN (data->>'counter')::numeric ELSE 0 END AS stored
        FROM ${t.devices} WHERE user_id = $1 AND id = $2 AND status = $4 FOR UPDATE
      ), moved AS (
        UPDATE ${t.devices} d SET data = d.data || jsonb_build_object('counter', $3::bigint, 'lastUsedAt', $5::bigint)
        FROM old WHERE d.user_id = $1 AND d.id = old.id AND (($3::numeric = 0 AND old.stored = 0) OR $3::numeric > old.stored)
        RETURNING 1
      )
      SELECT (SELECT count(*) FROM old)::int AS found, (SELECT count(*) FROM moved)::int AS moved`,

    LOCK_DEVICE: `SELECT status FROM ${t.devices} WHERE user_id = $1 AND id = $2 FOR UPDATE`,
    /** Under the user's lock, which every credential id's writer takes. $3: the credential id. */
    CREDENTIAL_HELD: `SELECT (EXISTS (SELECT 1 FROM ${t.devices} WHERE user_id = $1 AND id <> $2 AND data->'credentialId' = to_jsonb($3::text)))::int AS held`,
    /** jsonb || merges top-level fields, as Object.assign does. */
    ACTIVATE: `UPDATE ${t.devices} SET data = data || $3::jsonb, status = 'ACTIVE', activated_at = $4, updated_at = $4, activation_challenge_id = NULL
      WHERE user_id = $1 AND id = $2
      RETURNING ${DEVICE}`,

    RECOVERY_CODES: `SELECT hash FROM ${t.recoveryCodes} WHERE user_id = $1`,
    COUNT_RECOVERY_CODES: `SELECT count(*)::int AS count FROM ${t.recoveryCodes} WHERE user_id = $1`,
    DELETE_RECOVERY_CODES: `DELETE FROM ${t.recoveryCodes} WHERE user_id = $1`,
    INSERT_RECOVERY_CODES: `INSERT INTO ${t.recoveryCodes} (user_id, hash) SELECT DISTINCT $1::text, h FROM unnest($2::text[]) AS h`,
    DELETE_RECOVERY_CODE: `DELETE FROM ${t.recoveryCodes} WHERE user_id = $1 AND hash = $2`,

    SAVE_CEREMONY: `INSERT INTO ${t.ceremonies} (${CEREMONY}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
      ON CONFLICT (user_id, id) DO UPDATE SET device_id = EXCLUDED.device_id, purpose = EXCLUDED.purpose, challenge = EXCLUDED.challenge,
        binding = EXCLUDED.binding, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at, drop_at = EXCLUDED.drop_at`,
    /** Taken whether expired or not: of parallel takes, one DELETE gets the row. */
    TAKE_CEREMONY: `DELETE FROM ${t.ceremonies} WHERE user_id = $1 AND id = $2 RETURNING ${CEREMONY}`,

    SAVE_TRUSTED: `INSERT INTO ${t.trustedBrowsers} (${TRUSTED}) VALUES ($1, $2, $3, $4, $5, $6, $7)
      ON CONFLICT (user_id, id) DO UPDATE SET label = EXCLUDED.label, created_at = EXCLUDED.created_at, last_used_at = EXCLUDED.last_used_at,
        expires_at = EXCLUDED.expires_at, token_hash = EXCLUDED.token_hash`,
    LIST_TRUSTED: `SELECT ${TRUSTED} FROM ${t.trustedBrowsers} WHERE user_id = $1 AND expires_at > $2`,
    LOCK_TRUSTED: `SELECT ${TRUSTED} FROM ${t.trustedBrowsers} WHERE user_id = $1 AND id = $2 FOR UPDATE`,
    ROTATE_TRUSTED: `UPDATE ${t.trustedBrowsers} SET token_hash = $3, last_used_at = $4 WHERE user_id = $1 AND id = $2 RETURNING ${TRUSTED}`,
    DELETE_TRUSTED: `DELETE FROM ${t.trustedBrowsers} WHERE user_id = $1 AND id = $2 RETURNING expires_at`,
    /** Each row is counted by the one statement whose DELETE removed it. $2: now; an expired one is not counted. */
    DELETE_ALL_TRUSTED: `WITH gone AS (DELETE FROM ${t.trustedBrowsers} WHERE user_id = $1 RETURNING expires_at)
      SELECT (count(*) FILTER (WHERE expires_at > $2))::int AS count FROM gone`,

    /**
     * One statement: counts this use in the window ($3 now, $4 windowMs),
     * starting a new one when it ended; the use passes when the count is
     * within the limit ($5). Refused uses are counted too (never past
     * limit + 1), so that the answer needs no second read.
     */
    CONSUME_QUOTA: `INSERT INTO ${t.quotas} AS q (scope, quota_key, uses, ends_at) VALUES ($1, $2, 1, $3::bigint + $4::bigint)
      ON CONFLICT (scope, quota_key) DO UPDATE SET
        uses = CASE WHEN q.ends_at <= $3 THEN 1 ELSE LEAST(q.uses, $5::int) + 1 END,
        ends_at = CASE WHEN q.ends_at <= $3 THEN EXCLUDED.ends_at ELSE q.ends_at END
      RETURNING uses, ends_at`,

    /**
     * One hit of $3 (any sign) on a fixed window, in one statement: an ended
     * window, or one counted down to 0, starts over at $3 until $4 + $5; a
     * running one keeps its end. Never below 0. $1 scope, $2 key, $3 delta,
     * $4 now, $5 windowMs.
     */
    HIT: `INSERT INTO ${t.hits} AS h (scope, hit_key, hits, ends_at) VALUES ($1, $2, GREATEST($3::bigint, 0), $4::bigint + $5::bigint)
      ON CONFLICT (scope, hit_key) DO UPDATE SET
        hits = CASE WHEN h.ends_at <= $4 OR h.hits = 0 THEN EXCLUDED.hits ELSE GREATEST(h.hits + $3::bigint, 0) END,
        ends_at = CASE WHEN h.ends_at <= $4 OR h.hits = 0 THEN EXCLUDED.ends_at ELSE h.ends_at END
      RETURNING hits, ends_at`,

    /**
     * The stamp, set to the candidate ($2) when there is none, in one
     * statement: a stamp already there is read without a write; else the
     * upsert keeps whichever stamp a parallel first read stored first.
     */
    GET_STAMP: `WITH found AS (SELECT stamp FROM ${t.users} WHERE user_id = $1 AND stamp IS NOT NULL),
      made AS (
        INSERT INTO ${t.users} AS u (user_id, stamp) SELECT $1::text, $2::text WHERE NOT EXISTS (SELECT 1 FROM found)
        ON CONFLICT (user_id) DO UPDATE SET stamp = COALESCE(u.stamp, EXCLUDED.stamp)
        RETURNING stamp
      )
      SELECT stamp FROM found UNION ALL SELECT stamp FROM made`,
    SET_STAMP: `INSERT INTO ${t.users} (user_id, stamp) VALUES ($1, $2) ON CONFLICT (user_id) DO UPDATE SET stamp = EXCLUDED.stamp`,
    GET_LOCK: `SELECT locked_until FROM ${t.users} WHERE user_id = $1 AND locked_until > $2`,
    CLEAR_LOCK: `UPDATE ${t.users} SET locked_until = NULL, failures_count = 0, failures_ends_at = NULL WHERE user_id = $1`,

    /** $1: now. Each removes what is expired, or ended. */
    SWEEP: [
      `DELETE FROM ${t.challenges} WHERE drop_at <= $1`,
      `DELETE FROM ${t.ceremonies} WHERE drop_at <= $1`,
      `DELETE FROM ${t.trustedBrowsers} WHERE expires_at <= $1`,
      `DELETE FROM ${t.quotas} WHERE ends_at <= $1`,
      `DELETE FROM ${t.hits} WHERE ends_at <= $1 OR hits = 0`,
    ],
    /** $1: now. Ended windows and locks are forgotten; a row a step holds is waited for and checked again, so what it set stays. */
    SWEEP_LIMITS: `UPDATE ${t.users} SET
        sends_count = CASE WHEN sends_ends_at <= $1 THEN 0 ELSE sends_count END,
        sends_ends_at = CASE WHEN sends_ends_at <= $1 THEN NULL ELSE sends_ends_at END,
        failures_count = CASE WHEN failures_ends_at <= $1 THEN 0 ELSE failures_count END,
        failures_ends_at = CASE WHEN failures_ends_at <= $1 THEN NULL ELSE failures_ends_at END,
        locked_until = CASE WHEN locked_until <= $1 THEN NULL ELSE locked_until END
      WHERE sends_ends_at <= $1 OR failures_ends_at <= $1 OR locked_until <= $1`,
    /** A user's row holds nothing of theirs but limits and the stamp: one with neither is made again by the next step that needs it. */
    SWEEP_USERS: `DELETE FROM ${t.users} WHERE stamp IS NULL AND sends_ends_at IS NULL AND failures_ends_at IS NULL AND locked_until IS NULL`,
  };
}
