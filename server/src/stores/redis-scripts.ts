/**
 * Lua scripts: each runs atomically inside Redis and touches only the keys of one room (one hash
 * slot). Timestamps come from Redis' clock so that every pod agrees on them.
 */
const NOW_MS = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * KEYS: seq, log, clientId key. ARGV: room, authorId, authorName, text, clientId, historyLimit, idempotencyTtlMs.
 * Returns {stored (1|0), messageJson}. The stream entry id is `<seq>-0`, so XRANGE by seq is direct.
 * The clientId key remembers only `<seq>:<ts>` (not the message: it lives for IDEMPOTENCY_TTL_MS);
 * a retry gets the original from the stream, or, if history was trimmed since, the message
 * rebuilt from its seq and ts and the retry itself.
 */
export const APPEND = `
local prev = redis.call('GET', KEYS[3])
if prev then
  local seq, ts = string.match(prev, '^(%d+):(%d+)$')
  local entry = redis.call('XRANGE', KEYS[2], seq .. '-0', seq .. '-0')[1]
  if entry then return {0, entry[2][2]} end
  return {0, cjson.encode({
    id = ARGV[1] .. ':' .. seq, seq = tonumber(seq), room = ARGV[1],
    author = { id = ARGV[2], name = ARGV[3] },
    text = ARGV[4], clientId = ARGV[5], ts = tonumber(ts),
  })}
end
${NOW_MS}
local seq = redis.call('INCR', KEYS[1])
local msg = cjson.encode({
  id = ARGV[1] .. ':' .. seq, seq = seq, room = ARGV[1],
  author = { id = ARGV[2], name = ARGV[3] },
  text = ARGV[4], clientId = ARGV[5], ts = now,
})
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[6], seq .. '-0', 'm', msg)
redis.call('SET', KEYS[3], seq .. ':' .. string.format('%d', now), 'PX', ARGV[7])
return {1, msg}
`;

/**
 * KEYS: seq, log. ARGV: since (-1 = latest page), historyPage, historyLimit.
 * Returns {cursor, trimmed (1|0), {entry...}} with entries oldest first for a range and newest
 * first for a page (the caller reverses), each entry {id, {'m', json}}.
 */
export const HISTORY = `
local cursor = tonumber(redis.call('GET', KEYS[1]) or '0')
local since = tonumber(ARGV[1])
if since < 0 then
  return {cursor, 0, redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', ARGV[2])}
end
if since == cursor then return {cursor, 0, {}} end
local first = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)[1]
local oldest = cursor + 1
if first then oldest = tonumber(string.match(first[1], '^(%d+)')) end
if since > cursor or oldest > since + 1 then
  return {cursor, 1, redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', ARGV[2])}
end
return {cursor, 0, redis.call('XRANGE', KEYS[2], (since + 1) .. '-0', '+', 'COUNT', ARGV[3])}
`;

/**
 * Presence of a room, in five keys of its slot. KEYS: [1] conns, a sorted set: member = one
 * connection as JSON [connId, userId, name, nameKey], score = its expiry on Redis' clock;
 * [2] users, a hash userId -> name (HGETALL is the list, nothing to decode); [3] names, the name
 * index, a hash nameKey -> userId (so a join checks its name in O(1), not by scanning every
 * member); [4] version, a counter bumped once per change of the set of users (a user's first
 * connection in, their last one out), without a TTL like the room's seq; [5] holds, a hash
 * userId -> {n = live connections, keys = the name keys they hold}.
 *
 * Every script first sweeps connections past their expiry (a pod that died never removed them)
 * and returns the leaves that caused, flat: {version, userId, name, ...}, for its caller to
 * announce; so whichever pod touches the room first after an expiry announces it, exactly once.
 */
const PRESENCE_COMMON = `${NOW_MS}
local ttl = tonumber(ARGV[1])
local function drop(m)
  local e = cjson.decode(m)
  local rec = redis.call('HGET', KEYS[5], e[2])
  if not rec then return nil end
  local r = cjson.decode(rec)
  r.n = r.n - 1
  if r.n > 0 then
    redis.call('HSET', KEYS[5], e[2], cjson.encode(r))
    return nil
  end
  local name = redis.call('HGET', KEYS[2], e[2])
  redis.call('HDEL', KEYS[5], e[2])
  redis.call('HDEL', KEYS[2], e[2])
  for _, k in ipairs(r.keys) do
    if redis.call('HGET', KEYS[3], k) == e[2] then redis.call('HDEL', KEYS[3], k) end
  end
  return {redis.call('INCR', KEYS[4]), e[2], name or e[3]}
end
local left = {}
local function record(c)
  if c then for _, v in ipairs(c) do left[#left + 1] = v end end
end
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
if #expired > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  for _, m in ipairs(expired) do record(drop(m)) end
end
local function keep()
  for _, i in ipairs({1, 2, 3, 5}) do redis.call('PEXPIRE', KEYS[i], ttl * 2) end
end
local function version() return tonumber(redis.call('GET', KEYS[4]) or '0') end`;

/**
 * ARGV: ttlMs, userId, name, nameKey, member. Returns {1, version, joined (1|0), left, users} or
 * {0, version, 0, left, {}} when a present user of another id holds the name; users is the flat
 * HGETALL of the users hash (the joiner's ack needs the list, so it comes in the same round trip).
 */
export const PRESENCE_ADD = `
${PRESENCE_COMMON}
local joined = 0
if redis.call('ZSCORE', KEYS[1], ARGV[5]) then
  redis.call('ZADD', KEYS[1], 'XX', now + ttl, ARGV[5])
else
  local owner = redis.call('HGET', KEYS[3], ARGV[4])
  if owner and owner ~= ARGV[2] then return {0, version(), 0, left, {}} end
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[5])
  redis.call('HSET', KEYS[3], ARGV[4], ARGV[2])
  local rec = redis.call('HGET', KEYS[5], ARGV[2])
  local r
  if rec then
    r = cjson.decode(rec)
    r.n = r.n + 1
    local has = false
    for _, k in ipairs(r.keys) do if k == ARGV[4] then has = true end end
    if not has then r.keys[#r.keys + 1] = ARGV[4] end
  else
    r = {n = 1, keys = {ARGV[4]}}
    redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
    joined = redis.call('INCR', KEYS[4])
  end
  redis.call('HSET', KEYS[5], ARGV[2], cjson.encode(r))
end
keep()
return {1, version(), joined, left, redis.call('HGETALL', KEYS[2])}
`;

/** ARGV: ttlMs, member. Returns {left}: the user's leave if this was their last connection. */
export const PRESENCE_REMOVE = `
${PRESENCE_COMMON}
if redis.call('ZREM', KEYS[1], ARGV[2]) == 1 then record(drop(ARGV[2])) end
return {left}
`;

/** ARGV: ttlMs, member... Refreshes only members still present (XX). Returns {left}. */
export const PRESENCE_REFRESH = `
${PRESENCE_COMMON}
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now + ttl, ARGV[i]) end
if redis.call('EXISTS', KEYS[1]) == 1 then keep() end
return {left}
`;

/** ARGV: ttlMs. Returns {version, users (flat HGETALL), left}. */
export const PRESENCE_LIST = `
${PRESENCE_COMMON}
return {version(), redis.call('HGETALL', KEYS[2]), left}
`;
