/**
 * Lua scripts: each runs atomically inside Redis and touches only the keys of one room (one hash
 * slot). Timestamps come from Redis' clock so that every pod agrees on them.
 */
const NOW_MS = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * KEYS: seq, log, clientId key. ARGV: room, authorId, authorName, text, clientId, historyLimit,
 * clientIdTtlMs, roomIdleTtlMs.
 * Returns {stored (1|0), messageJson}. The stream entry id is `<seq>-0`, so XRANGE by seq is direct.
 * The clientId key remembers only `<seq>:<ts>` (not the message: it lives for IDEMPOTENCY_TTL_MS);
 * a retry gets the original from the stream, or, if history was trimmed since, the message
 * rebuilt from its seq and ts and the retry itself.
 * Every new message pushes the expiry of seq and log to roomIdleTtlMs from now, so an idle room
 * vanishes as a whole. clientIdTtlMs is at most roomIdleTtlMs (the caller takes the minimum).
 * A retry refreshes the clientId key's TTL (never past the room's): a write, so that a WAIT
 * after it on a fresh connection still waits for the replicas to catch up to the original.
 */
export const APPEND = `
local prev = redis.call('GET', KEYS[3])
if prev then
  -- Never past the room's own expiry: the clientId key must not outlive the seq it points into.
  local keep = tonumber(ARGV[7])
  local left = redis.call('PTTL', KEYS[1])
  if left > 0 and left < keep then keep = left end
  redis.call('PEXPIRE', KEYS[3], keep)
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
redis.call('PEXPIRE', KEYS[1], ARGV[8])
redis.call('PEXPIRE', KEYS[2], ARGV[8])
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
 * KEYS: presence. ARGV: ttlMs, userId, nameKey, member. Adds the member (score = expiry) unless a
 * live member of another user has the same name key; returns 1 if added, 0 if the name is taken.
 * Members are JSON arrays [connId, userId, name, nameKey].
 */
export const PRESENCE_ADD = `
${NOW_MS}
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')) do
  local e = cjson.decode(m)
  if e[2] ~= ARGV[2] and e[4] == ARGV[3] then return 0 end
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[4])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) * 2)
return 1
`;

/** KEYS: presence. ARGV: ttlMs, member... Refreshes only members still present (XX). */
export const PRESENCE_REFRESH = `
${NOW_MS}
local expires = now + tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', expires, ARGV[i]) end
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) * 2) end
return #ARGV - 1
`;

/** KEYS: presence. Drops expired members and returns the live ones, oldest first. */
export const PRESENCE_LIST = `
${NOW_MS}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZRANGE', KEYS[1], 0, -1)
`;
