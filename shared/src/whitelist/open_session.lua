-- Opens a session, evicting the least recently used ones beyond the cap, atomically.
-- KEYS[1] = the user's session index (ZSET sid -> last used ms), "sess:{uid}"
-- KEYS[2] = the new session (HASH), "sess:{uid}:<sid>"
-- Every session key is "<index>:<sid>", so it shares the index's hash tag and slot:
-- the keys built here from ZSET members are in the same slot as KEYS[1].
-- ARGV: sid, jti, now_ms, iat_s, exp_s, abs_ms, cap, kid, email, user_agent, ip, expires_ms
-- (the key expires at expires_ms, the refresh token's expiry to the millisecond;
-- exp_s is the same instant rounded down, as the token's `exp` claim carries it)
local index, session = KEYS[1], KEYS[2]
local sid, now, abs, cap = ARGV[1], tonumber(ARGV[3]), tonumber(ARGV[6]), tonumber(ARGV[7])

-- Sessions that expired on their own left their sid in the index: drop those first.
for _, member in ipairs(redis.call('ZRANGE', index, 0, -1)) do
  if redis.call('EXISTS', index .. ':' .. member) == 0 then
    redis.call('ZREM', index, member)
  end
end

local evicted = 0
while redis.call('ZCARD', index) >= cap do
  local oldest = redis.call('ZRANGE', index, 0, 0)[1]
  redis.call('DEL', index .. ':' .. oldest)
  redis.call('ZREM', index, oldest)
  evicted = evicted + 1
end

redis.call('HSET', session,
  'jti', ARGV[2], 'iat', ARGV[4], 'exp', ARGV[5], 'kid', ARGV[8],
  'created', ARGV[3], 'used', ARGV[3], 'abs', ARGV[6],
  'email', ARGV[9], 'ua', ARGV[10], 'ip', ARGV[11])
redis.call('PEXPIREAT', session, tonumber(ARGV[12]))
redis.call('ZADD', index, now, sid)

-- The index lives as long as the longest-lived session it may list.
local ttl = redis.call('PTTL', index)
if ttl < 0 or now + ttl < abs then
  redis.call('PEXPIREAT', index, abs)
end
return evicted
