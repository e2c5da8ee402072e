/**
 * The Lua scripts behind RedisMfaStore. Each runs atomically on the Redis
 * server, so a check and the act it guards cannot be split by another
 * instance. All keys of one call belong to one user and share its hash tag.
 * Times come from the app (ARGV), like the in-memory store, so both stores
 * decide alike; TTLs only bound how long Redis keeps a key.
 */

// A fixed window kept in a hash {count, endsAt}.
const WINDOW = `
local function window(key, now, windowMs)
  local w = redis.call('HMGET', key, 'count', 'endsAt')
  local endsAt = tonumber(w[2])
  if endsAt and endsAt > now then return tonumber(w[1]) or 0, endsAt end
  return 0, now + windowMs
end
local function count(key, value, endsAt, now)
  redis.call('HSET', key, 'count', value, 'endsAt', endsAt)
  redis.call('PEXPIRE', key, math.max(1, endsAt - now))
end
`;

// The user's lock, and the failures that lead to it: one window shared by every kind of wrong answer.
const LOCKOUT = WINDOW + `
local function lockedUntil(lockKey, now)
  local untilMs = tonumber(redis.call('GET', lockKey))
  if untilMs and untilMs > now then return untilMs end
  return nil
end
-- Counts one failure; at the threshold locks the user and starts the count over. → when that lock ends, or nil.
local function fail(failuresKey, lockKey, now, threshold, windowMs, durationMs)
  local failures, endsAt = window(failuresKey, now, windowMs)
  failures = failures + 1
  if failures < threshold then
    count(failuresKey, failures, endsAt, now)
    return nil
  end
  redis.call('DEL', failuresKey)
  redis.call('SET', lockKey, now + durationMs, 'PX', durationMs)
  return now + durationMs
end
`;

// Constant time for equal lengths: the loop never stops early.
const SAME = `
local function same(a, b)
  if #a ~= #b then return false end
  local diff = 0
  for i = 1, #a do diff = bit.bor(diff, bit.bxor(string.byte(a, i), string.byte(b, i))) end
  return diff == 0
end
`;

/** KEYS: devices. ARGV: id, json, max. → the stored json, last in the user's order; false at the limit. */
export const INSERT_DEVICE = `
local all = redis.call('HVALS', KEYS[1])
if #all >= tonumber(ARGV[3]) then return false end
local last = -1
for _, raw in ipairs(all) do last = math.max(last, cjson.decode(raw).order) end
local device = cjson.decode(ARGV[2])
device.order = last + 1
local out = cjson.encode(device)
redis.call('HSET', KEYS[1], ARGV[1], out)
return out
`;

/** KEYS: devices. ARGV: id, patch json. → the patched device json, or false. */
export const UPDATE_DEVICE = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return false end
local device = cjson.decode(raw)
for k, v in pairs(cjson.decode(ARGV[2])) do device[k] = v end
local out = cjson.encode(device)
redis.call('HSET', KEYS[1], ARGV[1], out)
return out
`;

/**
 * KEYS: devices. ARGV: every device id of the user, first to last.
 * → 1 ordered; 0, nothing changed, unless ARGV holds each device exactly once.
 */
export const ORDER_DEVICES = `
if redis.call('HLEN', KEYS[1]) ~= #ARGV then return 0 end
local devices = {}
for _, id in ipairs(ARGV) do
  if devices[id] then return 0 end
  local raw = redis.call('HGET', KEYS[1], id)
  if not raw then return 0 end
  devices[id] = cjson.decode(raw)
end
for i, id in ipairs(ARGV) do
  local d = devices[id]
  if d.order ~= i - 1 then
    d.order = i - 1
    redis.call('HSET', KEYS[1], id, cjson.encode(d))
  end
end
return 1
`;

/** KEYS: devices. ARGV: id, keepLastActive ('1'|'0'). → the removed device json, or false. */
export const DELETE_DEVICE = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return false end
if ARGV[2] == '1' and cjson.decode(raw).status == 'ACTIVE' then
  local others = 0
  local all = redis.call('HGETALL', KEYS[1])
  for i = 1, #all, 2 do
    if all[i] ~= ARGV[1] and cjson.decode(all[i + 1]).status == 'ACTIVE' then others = others + 1 end
  end
  if others == 0 then return false end
end
redis.call('HDEL', KEYS[1], ARGV[1])
return raw
`;

/** KEYS: devices. → every device json. */
export const LIST_DEVICES = `return redis.call('HVALS', KEYS[1])`;

/** KEYS: devices. ARGV: id. → the device json, or false. */
export const GET_DEVICE = `return redis.call('HGET', KEYS[1], ARGV[1])`;

/**
 * KEYS: challenge, sends, lock, the device's challenge ids. ARGV: ttl, limit, windowMs, now, challenge id, then field/value pairs.
 * → {1, 0} stored, {0, retryAfterMs}, {2, lockedUntil}.
 */
export const CREATE_CHALLENGE = LOCKOUT + `
local now = tonumber(ARGV[4])
local untilMs = lockedUntil(KEYS[3], now)
if untilMs then return {2, untilMs} end
local sent, endsAt = window(KEYS[2], now, tonumber(ARGV[3]))
if sent >= tonumber(ARGV[2]) then return {0, endsAt - now} end
count(KEYS[2], sent + 1, endsAt, now)
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[5])
if redis.call('PTTL', KEYS[4]) < tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[4], ARGV[1]) end
return {1, 0}
`;

/** KEYS: the device's challenge ids, its ceremony ids. → {challenge ids, ceremony ids}, and both sets are gone. */
export const TAKE_DEVICE_CHALLENGES = `
local ids = {redis.call('SMEMBERS', KEYS[1]), redis.call('SMEMBERS', KEYS[2])}
redis.call('DEL', KEYS[1], KEYS[2])
return ids
`;

/** KEYS: quota. ARGV: limit, windowMs, now. → {1, 0} counted, {0, retryAfterMs}. */
export const CONSUME_QUOTA = WINDOW + `
local now = tonumber(ARGV[3])
local used, endsAt = window(KEYS[1], now, tonumber(ARGV[2]))
if used >= tonumber(ARGV[1]) then return {0, endsAt - now} end
count(KEYS[1], used + 1, endsAt, now)
return {1, 0}
`;

/**
 * KEYS: the count. ARGV: delta, windowMs, now. → {hits, resetAt}.
 * Not the WINDOW helpers': a count that reaches 0 deletes its window, and a
 * delta of 0 or less never starts one.
 */
export const HIT = `
local delta = tonumber(ARGV[1])
local now = tonumber(ARGV[3])
local w = redis.call('HMGET', KEYS[1], 'count', 'endsAt')
local endsAt = tonumber(w[2])
local count = 0
if endsAt and endsAt > now then count = tonumber(w[1]) or 0 else endsAt = now + tonumber(ARGV[2]) end
count = math.max(0, count + delta)
if count == 0 then
  redis.call('DEL', KEYS[1])
  return {0, now}
end
redis.call('HSET', KEYS[1], 'count', count, 'endsAt', endsAt)
redis.call('PEXPIRE', KEYS[1], math.max(1, endsAt - now))
return {count, endsAt}
`;

/** KEYS: stamp. ARGV: candidate. → the stamp, set to the candidate when there was none. */
export const GET_STAMP = `
local stamp = redis.call('GET', KEYS[1])
if stamp then return stamp end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
`;

/** KEYS: stamp. ARGV: stamp. */
export const SET_STAMP = `return redis.call('SET', KEYS[1], ARGV[1])`;

/** KEYS: challenge. → the challenge's field/value pairs (empty when missing). */
export const GET_CHALLENGE = `return redis.call('HGETALL', KEYS[1])`;

/**
 * KEYS: challenge, sends, lock. ARGV: hash, expiresAt, ttl, cooldownMs, limit, windowMs, now.
 * → {'ok'} | {'missing'} | {'locked', until} | {'too_soon', ms} | {'quota', ms}
 */
export const REPLACE_CODE = LOCKOUT + `
local now = tonumber(ARGV[7])
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
local untilMs = lockedUntil(KEYS[3], now)
if untilMs then return {'locked', untilMs} end
local sentAt = tonumber(redis.call('HGET', KEYS[1], 'sentAt')) or 0
local cooldown = tonumber(ARGV[4])
if sentAt > 0 and now < sentAt + cooldown then return {'too_soon', sentAt + cooldown - now} end
local sent, endsAt = window(KEYS[2], now, tonumber(ARGV[6]))
if sent >= tonumber(ARGV[5]) then return {'quota', endsAt - now} end
count(KEYS[2], sent + 1, endsAt, now)
redis.call('HSET', KEYS[1], 'hash', ARGV[1], 'expiresAt', ARGV[2], 'sentAt', now, 'attempts', 0)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {'ok'}
`;

/** KEYS: challenge. ARGV: undelivered hash, previous hash, previous expiresAt, previous attempts. */
export const RESTORE_CODE = `
if redis.call('HGET', KEYS[1], 'hash') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'hash', ARGV[2], 'expiresAt', ARGV[3], 'attempts', ARGV[4], 'sentAt', 0)
end
return 1
`;

/**
 * KEYS: challenge, failures, lock, devices. ARGV: hash, threshold, windowMs, durationMs, now.
 * → {'ok', fields…} | {'invalid', remaining} | {'missing'} | {'expired'} | {'exhausted'} | {'device_gone'} | {'locked', until, justLocked}
 */
export const ATTEMPT = LOCKOUT + SAME + `
local now = tonumber(ARGV[5])
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
local untilMs = lockedUntil(KEYS[3], now)
if untilMs then return {'locked', untilMs, 0} end
local c = redis.call('HMGET', KEYS[1], 'hash', 'attempts', 'maxAttempts', 'expiresAt', 'deviceStatus', 'deviceId')
if now >= tonumber(c[4]) then return {'expired'} end
local attempts = tonumber(c[2])
local max = tonumber(c[3])
if attempts >= max then return {'exhausted'} end
local device = redis.call('HGET', KEYS[4], c[6])
if not device or cjson.decode(device).status ~= c[5] then return {'device_gone'} end
attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
if same(c[1], ARGV[1]) then
  -- Single use: the record goes at once; a replay finds nothing.
  local out = redis.call('HGETALL', KEYS[1])
  redis.call('DEL', KEYS[1], KEYS[2])
  table.insert(out, 1, 'ok')
  return out
end
local locked = fail(KEYS[2], KEYS[3], now, tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]))
if locked then return {'locked', locked, 1} end
return {'invalid', max - attempts}
`;

/**
 * KEYS: failures, lock. ARGV: threshold, windowMs, durationMs, now.
 * → {'counted'} | {'locked', until, justLocked}
 */
export const RECORD_FAILURE = LOCKOUT + `
local now = tonumber(ARGV[4])
local untilMs = lockedUntil(KEYS[2], now)
if untilMs then return {'locked', untilMs, 0} end
local locked = fail(KEYS[1], KEYS[2], now, tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))
if locked then return {'locked', locked, 1} end
return {'counted'}
`;

/**
 * KEYS: devices, failures, lock. ARGV: device id, step, status, threshold, windowMs, durationMs, now.
 * → {'ok'} | {'replayed'} | {'device_gone'} | {'locked', until, justLocked}
 * The device's lastStep sits beside its nested data (see RedisMfaStore), so the method's data is never re-encoded here.
 */
export const USE_TOTP_STEP = LOCKOUT + `
local now = tonumber(ARGV[7])
local untilMs = lockedUntil(KEYS[3], now)
if untilMs then return {'locked', untilMs, 0} end
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return {'device_gone'} end
local device = cjson.decode(raw)
if device.status ~= ARGV[3] then return {'device_gone'} end
local step = tonumber(ARGV[2])
local last = tonumber(device.lastStep)
if last and step <= last then
  local locked = fail(KEYS[2], KEYS[3], now, tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]))
  if locked then return {'locked', locked, 1} end
  return {'replayed'}
end
device.lastStep = step
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(device))
redis.call('DEL', KEYS[2])
return {'ok'}
`;

/** KEYS: recovery codes. ARGV: the new set's hashes (none: no codes). */
export const REPLACE_RECOVERY_CODES = `
redis.call('DEL', KEYS[1])
if #ARGV > 0 then redis.call('SADD', KEYS[1], unpack(ARGV)) end
return 1
`;

/** KEYS: recovery codes. → how many are left. */
export const COUNT_RECOVERY_CODES = `return redis.call('SCARD', KEYS[1])`;

/**
 * KEYS: recovery codes, failures, lock. ARGV: hash, threshold, windowMs, durationMs, now.
 * → {'ok', remaining} | {'invalid'} | {'locked', until, justLocked}
 *
 * Every stored hash is compared in constant time, with no early exit, so a
 * guess takes as long whether and wherever it matches. SISMEMBER would do
 * as well, since a hash is an HMAC whose timing tells nothing of a code
 * without the secret; but that leans on how the caller hashed, and the set
 * (a dozen codes) costs nothing to walk.
 */
export const USE_RECOVERY_CODE = LOCKOUT + SAME + `
local now = tonumber(ARGV[5])
local untilMs = lockedUntil(KEYS[3], now)
if untilMs then return {'locked', untilMs, 0} end
local match = nil
for _, stored in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if same(stored, ARGV[1]) then match = stored end
end
if match then
  redis.call('SREM', KEYS[1], match)
  redis.call('DEL', KEYS[2])
  return {'ok', redis.call('SCARD', KEYS[1])}
end
local locked = fail(KEYS[2], KEYS[3], now, tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]))
if locked then return {'locked', locked, 1} end
return {'invalid'}
`;

/**
 * KEYS: ceremony, then the device's ceremony ids when it is for one device. ARGV: ttl, ceremony id, json.
 * The device's set is what deleteDeviceChallenges finds the ceremony by.
 */
export const SAVE_CEREMONY = `
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[1])
if KEYS[2] then
  redis.call('SADD', KEYS[2], ARGV[2])
  if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[2], ARGV[1]) end
end
return 1
`;

/** KEYS: ceremony. → its json, and it is gone; false when there is none. */
export const TAKE_CEREMONY = `
local raw = redis.call('GET', KEYS[1])
if raw then redis.call('DEL', KEYS[1]) end
return raw
`;

/**
 * KEYS: devices. ARGV: device id, counter, status, now.
 * → {'ok'} | {'cloned'} | {'device_gone'}
 * The device's counter and lastUsedAt sit beside its nested data, as lastStep does (see RedisMfaStore).
 */
export const USE_SIGNATURE_COUNTER = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return {'device_gone'} end
local device = cjson.decode(raw)
if device.status ~= ARGV[3] then return {'device_gone'} end
local counter = tonumber(ARGV[2])
local stored = tonumber(device.counter) or 0
-- Both 0: an authenticator that keeps no counter, which the counter cannot tell from a copy.
if (counter ~= 0 or stored ~= 0) and counter <= stored then return {'cloned'} end
device.counter = counter
device.lastUsedAt = tonumber(ARGV[4])
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(device))
return {'ok'}
`;

/**
 * KEYS: devices. ARGV: device id, the given data fields that sit beside the nested data (credentialId among them) as json,
 * the other given fields as json of {field: the field's value as json}, now.
 * → {'ok', device json} | {'duplicate'} | {'device_gone'}
 * The other fields go into the device's dataFields each as a string, which cjson leaves whole (see RedisMfaStore).
 */
export const ACTIVATE_CREDENTIAL = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return {'device_gone'} end
local device = cjson.decode(raw)
if device.status ~= 'ACTIVATION_REQUIRED' then return {'device_gone'} end
local beside = cjson.decode(ARGV[2])
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if all[i] ~= ARGV[1] and cjson.decode(all[i + 1]).credentialId == beside.credentialId then return {'duplicate'} end
end
for k, v in pairs(beside) do device[k] = v end
local fields = device.dataFields or {}
for k, v in pairs(cjson.decode(ARGV[3])) do fields[k] = v end
device.dataFields = fields
local now = tonumber(ARGV[4])
device.status = 'ACTIVE'
device.activatedAt = now
device.updatedAt = now
device.activationChallengeId = cjson.null
local out = cjson.encode(device)
redis.call('HSET', KEYS[1], ARGV[1], out)
return {'ok', out}
`;

/** KEYS: lock. ARGV: now. → lockedUntil, or false. */
export const GET_LOCK = `
local lockedUntil = tonumber(redis.call('GET', KEYS[1]))
if lockedUntil and lockedUntil > tonumber(ARGV[1]) then return lockedUntil end
return false
`;

/** KEYS: any keys to delete (one user's). */
export const DELETE_KEYS = `return redis.call('DEL', unpack(KEYS))`;

/**
 * Trusted browsers: each a hash `trusted:<id>` of the record's fields (kept
 * as strings, so nothing passes through cjson), with a PX TTL to its
 * expiresAt, and the user's set `trusted` of their ids, which lists them
 * (its TTL the longest of theirs). A script names every key it touches, so
 * listing and forgetting all take two calls: the ids, then their records.
 */
const TRUSTED_FIELDS = `local FIELDS = {'id', 'userId', 'label', 'createdAt', 'lastUsedAt', 'expiresAt', 'tokenHash'}`;

/** KEYS: the record, the user's trusted ids. ARGV: ttl, id, then field/value pairs. One of the same id is replaced. */
export const SAVE_TRUSTED = `
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[2], ARGV[1]) end
return 1
`;

/** KEYS: the user's trusted ids. → the ids. */
export const TRUSTED_IDS = `return redis.call('SMEMBERS', KEYS[1])`;

/**
 * KEYS: the user's trusted ids, then the records. ARGV: the records' ids, in KEYS' order.
 * → each record's field values in TRUSTED_FIELDS order, false for one that is gone, whose id leaves the set.
 */
export const GET_TRUSTED = TRUSTED_FIELDS + `
local out = {}
for i, id in ipairs(ARGV) do
  if redis.call('EXISTS', KEYS[i + 1]) == 1 then
    out[i] = redis.call('HMGET', KEYS[i + 1], unpack(FIELDS))
  else
    redis.call('SREM', KEYS[1], id)
    out[i] = false
  end
end
return out
`;

/**
 * KEYS: the record, the user's trusted ids. ARGV: id, token hash, next token hash, now.
 * → {'ok', field values in TRUSTED_FIELDS order} | {'missing'} | {'replayed'}
 *
 * A wrong token deletes the record: after a rotation only one cookie holds
 * the current token, so a wrong one is an old cookie, a copy; the store
 * cannot tell the thief's from the user's, so neither is trusted. The
 * comparison is SAME's, constant time for equal lengths; plain equality
 * would do as well, since the hash is an HMAC whose timing tells nothing of
 * a token without the secret.
 */
export const USE_TRUSTED = TRUSTED_FIELDS + SAME + `
local stored = redis.call('HMGET', KEYS[1], 'tokenHash', 'expiresAt')
if not stored[1] then
  redis.call('SREM', KEYS[2], ARGV[1])
  return {'missing'}
end
local now = tonumber(ARGV[4])
if now >= tonumber(stored[2]) then
  redis.call('DEL', KEYS[1])
  redis.call('SREM', KEYS[2], ARGV[1])
  return {'missing'}
end
if not same(stored[1], ARGV[2]) then
  redis.call('DEL', KEYS[1])
  redis.call('SREM', KEYS[2], ARGV[1])
  return {'replayed'}
end
redis.call('HSET', KEYS[1], 'tokenHash', ARGV[3], 'lastUsedAt', ARGV[4])
local out = redis.call('HMGET', KEYS[1], unpack(FIELDS))
table.insert(out, 1, 'ok')
return out
`;

/** KEYS: the user's trusted ids, then records. ARGV: the records' ids. → how many records were there; their ids leave the set. */
export const DELETE_TRUSTED = `
local n = 0
for i, id in ipairs(ARGV) do
  n = n + redis.call('DEL', KEYS[i + 1])
  redis.call('SREM', KEYS[1], id)
end
return n
`;
