/**
 * Lua run by Redis as one atomic step, so two processes touching one record never lose an update.
 * Layout under `<base>` (`<prefix>:records`):
 *   `<base>:r:<id>`     hash, one field per record property, each value JSON-encoded
 *   `<base>:all`        sorted set of every id, all scores 0: ordered by id, i.e. by time (UUIDv7)
 *   `<base>:s:<status>` the same, per status
 *   `<base>:k:<sha1>`   id of the record that holds an idempotency key (hashed: keys are client text)
 * The scripts derive keys from `<base>` themselves, so they need one Redis, not a Cluster.
 */

/** KEYS: record. ARGV: base, id, status, idempotency key ('' for none), field, value, ... Returns the owner id if the key is taken. */
export const CREATE_SCRIPT = `
local base, id, status, key = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if key ~= '' then
  local claim = base .. ':k:' .. redis.sha1hex(key)
  local owner = redis.call('GET', claim)
  if owner and owner ~= id and redis.call('EXISTS', base .. ':r:' .. owner) == 1 then
    return owner
  end
  redis.call('SET', claim, id)
end
local old = redis.call('HGET', KEYS[1], 'status')
if old then
  redis.call('ZREM', base .. ':s:' .. cjson.decode(old), id)
  redis.call('DEL', KEYS[1])
end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('ZADD', base .. ':all', 0, id)
redis.call('ZADD', base .. ':s:' .. status, 0, id)
return false
`;

/**
 * KEYS: record. ARGV: base, id, allowed statuses (JSON array), fields to set (JSON object of
 * JSON-encoded values), fields to remove (JSON array). Returns {applied 0|1, record as field/value list}.
 */
export const TRANSITION_SCRIPT = `
local base, id = ARGV[1], ARGV[2]
local encoded = redis.call('HGET', KEYS[1], 'status')
if not encoded then return {0, {}} end
local status = cjson.decode(encoded)
local allowed = false
for _, s in ipairs(cjson.decode(ARGV[3])) do
  if s == status then allowed = true end
end
if not allowed then return {0, redis.call('HGETALL', KEYS[1])} end
local set = cjson.decode(ARGV[4])
local pairs_ = {}
for field, value in pairs(set) do
  pairs_[#pairs_ + 1] = field
  pairs_[#pairs_ + 1] = value
end
if #pairs_ > 0 then redis.call('HSET', KEYS[1], unpack(pairs_)) end
local removed = cjson.decode(ARGV[5])
if #removed > 0 then redis.call('HDEL', KEYS[1], unpack(removed)) end
if set['status'] then
  local next_ = cjson.decode(set['status'])
  if next_ ~= status then
    redis.call('ZREM', base .. ':s:' .. status, id)
    redis.call('ZADD', base .. ':s:' .. next_, 0, id)
  end
end
return {1, redis.call('HGETALL', KEYS[1])}
`;

/** KEYS: sorted set to page (all or one status). ARGV: base, max bound ('+' or '(<id>'), limit. Returns records newest first. */
export const LIST_SCRIPT = `
local ids = redis.call('ZREVRANGEBYLEX', KEYS[1], ARGV[2], '-', 'LIMIT', 0, tonumber(ARGV[3]))
local page = {}
for i, id in ipairs(ids) do
  page[i] = redis.call('HGETALL', ARGV[1] .. ':r:' .. id)
end
return page
`;

/** KEYS: record. ARGV: base, id. Returns 1 if a record was deleted. */
export const DELETE_SCRIPT = `
local base, id = ARGV[1], ARGV[2]
local encoded = redis.call('HGET', KEYS[1], 'status')
if not encoded then return 0 end
local key = redis.call('HGET', KEYS[1], 'idempotencyKey')
redis.call('DEL', KEYS[1])
redis.call('ZREM', base .. ':all', id)
redis.call('ZREM', base .. ':s:' .. cjson.decode(encoded), id)
if key then
  local claim = base .. ':k:' .. redis.sha1hex(cjson.decode(key))
  if redis.call('GET', claim) == id then redis.call('DEL', claim) end
end
return 1
`;
