/**
 * Lua scripts: each runs atomically inside Redis and touches only the keys of one room (one hash
 * slot). Timestamps come from Redis' clock so that every pod agrees on them.
 */
const NOW_MS = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * KEYS: seq, log, clientId key, rev. ARGV: room, authorId, authorName, text, clientId, historyLimit,
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
-- Edited messages' current state lives as long as the log: else the original text would return.
redis.call('PEXPIRE', KEYS[4], ARGV[8])
return {1, msg}
`;

/**
 * Shared by the history scripts (KEYS: seq, log, rev). Stream entries are messages
 * `<seq>-0 {m, json}` and revisions `<rev>-0 {r, {target, kind}}` (no text); the hash `rev` holds
 * the current state of each revised message. A deleted message's entry is removed (XDEL), so its
 * text is gone; its tombstone in `rev` keeps its place.
 */
const READ = `
local function current(seq, json)
  return redis.call('HGET', KEYS[3], seq) or json
end
-- Oldest seq history still knows: the first entry, extended down over tombstones just before it.
local function oldest(cursor)
  local first = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)[1]
  if not first then return cursor + 1 end
  local o = tonumber(string.match(first[1], '^(%d+)'))
  while o > 1 do
    local t = redis.call('HGET', KEYS[3], string.format('%d', o - 1))
    if not (t and cjson.decode(t).deleted) then break end
    o = o - 1
  end
  return o
end
-- Up to n messages (current state, no deleted ones) below the exclusive stream id hi, oldest first.
local function page(hi, n)
  local out, more = {}, 0
  while more == 0 do
    local batch = redis.call('XREVRANGE', KEYS[2], hi, '-', 'COUNT', n + 1)
    for _, e in ipairs(batch) do
      if e[2][1] == 'm' then
        if #out == n then more = 1 break end
        out[#out + 1] = current(string.match(e[1], '^(%d+)'), e[2][2])
      end
    end
    if #batch < n + 1 then break end
    hi = '(' .. batch[#batch][1]
  end
  local r = {}
  for i = #out, 1, -1 do r[#r + 1] = out[i] end
  return r, more
end
`;

/**
 * KEYS: seq, log, rev. ARGV: since (-1 = latest page), historyPage, historyLimit.
 * Returns {cursor, trimmed (1|0), {messageJson...}}: a page oldest first; for a range (since),
 * every message after since plus the current state of older ones revised after since (the
 * caller sorts by seq).
 */
export const HISTORY = `${READ}
local cursor = tonumber(redis.call('GET', KEYS[1]) or '0')
local since = tonumber(ARGV[1])
if since < 0 then return {cursor, 0, (page('+', tonumber(ARGV[2])))} end
if since == cursor then return {cursor, 0, {}} end
local low = oldest(cursor)
if since > cursor or low > since + 1 then return {cursor, 1, (page('+', tonumber(ARGV[2])))} end
local out, done = {}, {}
local from = string.format('%d', since + 1) .. '-0'
for _, e in ipairs(redis.call('XRANGE', KEYS[2], from, '+', 'COUNT', ARGV[3])) do
  local seq = string.match(e[1], '^(%d+)')
  if e[2][1] == 'm' then
    if not done[seq] then done[seq] = true; out[#out + 1] = current(seq, e[2][2]) end
  else
    local r = cjson.decode(e[2][2])
    local t = string.format('%d', r.target)
    if not done[t] and r.target >= low then
      local cur = redis.call('HGET', KEYS[3], t)
      if cur and (r.target <= since or cjson.decode(cur).deleted) then done[t] = true; out[#out + 1] = cur end
    end
  end
end
return {cursor, 0, out}
`;

/** KEYS: seq, log, rev. ARGV: before (> 1), limit. Returns {hasMore (1|0), {messageJson...}} oldest first. */
export const PAGE = `${READ}
local msgs, more = page('(' .. ARGV[1] .. '-0', tonumber(ARGV[2]))
return {more, msgs}
`;

/**
 * KEYS: seq, log, rev. ARGV: target seq, userId, text, kind ('edit'|'delete'), historyLimit.
 * Returns {status, messageJson}: 1 revised, 0 already in that state (a retry: nothing stored),
 * -1 no such message in history, -2 not the author, -3 an edit of a deleted message.
 * The revision takes the room's next seq, so resume and hole filling cover it like a message.
 */
export const REVISE = `${READ}
local target = ARGV[1]
local cur = redis.call('HGET', KEYS[3], target)
local e = redis.call('XRANGE', KEYS[2], target .. '-0', target .. '-0')[1]
local json
if e and e[2][1] == 'm' then json = cur or e[2][2] else json = cur end
if not json then return {-1, ''} end
local msg = cjson.decode(json)
local cursor = tonumber(redis.call('GET', KEYS[1]) or '0')
if not e and not (msg.deleted and tonumber(target) >= oldest(cursor)) then return {-1, ''} end
if msg.author.id ~= ARGV[2] then return {-2, ''} end
if msg.deleted then
  if ARGV[4] == 'delete' then return {0, json} end
  return {-3, ''}
end
if ARGV[4] == 'edit' and msg.text == ARGV[3] then return {0, json} end
${NOW_MS}
local rev = redis.call('INCR', KEYS[1])
msg.rev = rev
if ARGV[4] == 'edit' then
  msg.text = ARGV[3]
  msg.editedAt = now
else
  msg.text = ''
  msg.deleted = true
  msg.editedAt = nil
end
local out = cjson.encode(msg)
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[5], rev .. '-0', 'r', cjson.encode({ target = tonumber(target), kind = ARGV[4] }))
redis.call('HSET', KEYS[3], target, out)
if ARGV[4] == 'delete' then redis.call('XDEL', KEYS[2], target .. '-0') end
-- The hash lives and dies with the room's log; states of messages trimmed since are dropped.
local ttl = redis.call('PTTL', KEYS[2])
if ttl > 0 then redis.call('PEXPIRE', KEYS[3], ttl) end
if redis.call('HLEN', KEYS[3]) > 32 then
  local low = oldest(rev)
  for _, f in ipairs(redis.call('HKEYS', KEYS[3])) do
    if tonumber(f) < low then redis.call('HDEL', KEYS[3], f) end
  end
end
return {1, out}
`;

/**
 * KEYS: one directory sorted set. ARGV: room, ts, max entries, cutoff ms. Records activity
 * (never moving a score back), forgets rooms idle since before the cutoff and keeps the newest max.
 */
export const DIRECTORY_TOUCH = `
redis.call('ZADD', KEYS[1], 'GT', ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[4])
local extra = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[3])
if extra > 0 then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, extra - 1) end
return 1
`;

/**
 * Presence of a room, in five keys of its slot. KEYS: [1] conns, a sorted set: member = one
 * connection as JSON [connId, userId, name, nameKey], score = its expiry on Redis' clock;
 * [2] users, a hash userId -> name (HGETALL is the list, nothing to decode); [3] names, the name
 * index, a hash nameKey -> userId (so a join checks its name in O(1), not by scanning every
 * member); [4] version, a counter bumped once per change of the set of users (a user's first
 * connection in, their last one out), expiring with the other four: once a room has had nobody
 * for 2 TTLs nobody holds a version of it, and the next joiner gets the list anyway; [5] holds, a hash
 * userId -> {n = live connections, keys = the name keys they hold}.
 *
 * Every script first sweeps connections past their expiry (a pod that died never removed them)
 * and returns the leaves that caused, flat: {version, userId, name, count after it, ...}, for its
 * caller to announce; so whichever pod touches the room first after an expiry announces it,
 * exactly once.
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
  return {redis.call('INCR', KEYS[4]), e[2], name or e[3], redis.call('HLEN', KEYS[2])}
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
  for _, i in ipairs({1, 2, 3, 4, 5}) do redis.call('PEXPIRE', KEYS[i], ttl * 2) end
end
local function version() return tonumber(redis.call('GET', KEYS[4]) or '0') end
-- The users for a page limit (0: all), a cursor ('' = none) and a page size: flat {userId, name,
-- ...} and the next cursor ('' when these end the walk). A room of at most limit users without a
-- cursor gets all of them (HGETALL); else HSCAN pages it (about size each, possibly repeating
-- some). A small
-- hash (listpack) answers HSCAN with all of it at once, so it is paged by position instead: such
-- cursors are '0' followed by the offset, which no HSCAN cursor looks like.
local function users(limit, cursor, size)
  if limit == 0 or (cursor == '' and redis.call('HLEN', KEYS[2]) <= limit) then
    return redis.call('HGETALL', KEYS[2]), ''
  end
  local offset = nil
  local from = cursor
  if cursor == '' or cursor == '0' then
    from = '0'
    offset = 0
  elseif string.sub(cursor, 1, 1) == '0' then
    from = '0'
    offset = tonumber(string.sub(cursor, 2))
  end
  local res = redis.call('HSCAN', KEYS[2], from, 'COUNT', size)
  if offset and res[1] == '0' then
    local flat, out = res[2], {}
    local stop = math.min(#flat, (offset + size) * 2)
    for i = offset * 2 + 1, stop do out[#out + 1] = flat[i] end
    if stop < #flat then return out, '0' .. string.format('%d', offset + size) end
    return out, ''
  end
  if res[1] == '0' then return res[2], '' end
  return res[2], res[1]
end`;

/**
 * ARGV: ttlMs, userId, name, nameKey, member, page limit (0 = all), page size. Returns
 * {1, version, joined (version|0), left, users, count, next} or {0, version, 0, left, {}, count, ''}
 * when a present user of another id holds the name; users is the flat list (see users()) after
 * the change (the joiner's ack needs it, so it comes in the same round trip).
 */
export const PRESENCE_ADD = `
${PRESENCE_COMMON}
local joined = 0
if redis.call('ZSCORE', KEYS[1], ARGV[5]) then
  redis.call('ZADD', KEYS[1], 'XX', now + ttl, ARGV[5])
else
  local owner = redis.call('HGET', KEYS[3], ARGV[4])
  if owner and owner ~= ARGV[2] then return {0, version(), 0, left, {}, redis.call('HLEN', KEYS[2]), ''} end
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
local list, cursor = users(tonumber(ARGV[6]), '', tonumber(ARGV[7]))
return {1, version(), joined, left, list, redis.call('HLEN', KEYS[2]), cursor}
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

/** ARGV: ttlMs, page limit (0 = all), cursor ('' = none), page size. Returns {version, users, left, count, next}. */
export const PRESENCE_LIST = `
${PRESENCE_COMMON}
local list, cursor = users(tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]))
return {version(), list, left, redis.call('HLEN', KEYS[2]), cursor}
`;

/**
 * KEYS: version, users, counted. ARGV: ttlMs, version the caller needs announced, intervalMs.
 * Returns {1, version, count} (announce it), {-1, retry in ms} or {0}: nothing to do, because an
 * announcement at a version at or above the caller's went out (a room that expired and started
 * over has a lower version than the one recorded: that record is void) or the room is gone.
 * No sweep: the count is the users hash at that version, whichever way its leaves are announced.
 */
export const PRESENCE_CLAIM_COUNT = `
${NOW_MS}
local v = tonumber(redis.call('GET', KEYS[1]) or '0')
if v == 0 then return {0} end
local rec = redis.call('HMGET', KEYS[3], 'v', 'at')
local av, at = tonumber(rec[1] or '-1'), tonumber(rec[2] or '0')
if av <= v then
  if av >= tonumber(ARGV[2]) then return {0} end
  local wait = at + tonumber(ARGV[3]) - now
  if wait > 0 then return {-1, wait} end
end
redis.call('HSET', KEYS[3], 'v', v, 'at', now)
-- Never outliving the version it records: a room that starts over must not find it.
local left = redis.call('PTTL', KEYS[1])
if left > 0 then redis.call('PEXPIRE', KEYS[3], left) else redis.call('PEXPIRE', KEYS[3], tonumber(ARGV[1]) * 2) end
return {1, v, redis.call('HLEN', KEYS[2])}
`;

/**
 * KEYS: window counters (all in one slot on a Cluster). ARGV: increment, expire-at (epoch ms),
 * per key. Returns each counter after its increment: one command for a WindowLimit batch
 * instead of an INCRBY and a PEXPIREAT per key.
 */
export const WINDOW_COUNT = `
local out = {}
for i, key in ipairs(KEYS) do
  out[i] = redis.call('INCRBY', key, ARGV[2 * i - 1])
  redis.call('PEXPIREAT', key, ARGV[2 * i])
end
return out
`;
