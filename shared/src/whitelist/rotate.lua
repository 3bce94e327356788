-- Rotates a session's refresh token. Exactly one caller presenting the current jti
-- wins; Redis runs scripts one at a time, so there is no interleaving to guard.
-- KEYS[1] = "sess:{uid}" (index), KEYS[2] = "sess:{uid}:<sid>" (session)
-- ARGV: sid, presented_jti, new_jti, now_ms, refresh_ttl_s, grace_ms, kid
-- Returns {outcome, jti, iat, exp, kid, email} where outcome is
--   'rotated'  the presented jti was current; the session moved to new_jti;
--   'grace'    the presented jti was rotated out less than grace_ms ago: the
--              caller gets the winner's grant (same jti/iat/exp/kid), so a client
--              that fired several refreshes at once is not logged out;
-- or {'missing'} (no such session, or past its absolute lifetime), or
--    {'reused'}  a rotated-out token after the grace window: treated as theft,
--                the whole session is revoked at once.
local index, session = KEYS[1], KEYS[2]
local sid, presented, new_jti = ARGV[1], ARGV[2], ARGV[3]
local now, ttl_s, grace, kid = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]

local s = redis.call('HMGET', session, 'jti', 'pjti', 'rot', 'abs', 'iat', 'exp', 'kid', 'email')
local current, previous, rotated_at, abs = s[1], s[2], tonumber(s[3]), tonumber(s[4])
if not current then
  return {'missing'}
end

-- Rotation never extends a session past its absolute lifetime.
local now_s = math.floor(now / 1000)
local expires_ms = math.min(now + ttl_s * 1000, abs)
local exp_s = math.floor(expires_ms / 1000)
if now >= abs or exp_s <= now_s then
  redis.call('DEL', session)
  redis.call('ZREM', index, sid)
  return {'missing'}
end

if presented == current then
  redis.call('HSET', session, 'jti', new_jti, 'iat', now_s, 'exp', exp_s, 'kid', kid,
    'pjti', presented, 'rot', now, 'used', now)
  redis.call('PEXPIREAT', session, expires_ms)
  redis.call('ZADD', index, now, sid)
  return {'rotated', new_jti, tostring(now_s), tostring(exp_s), kid, s[8]}
end

if previous and presented == previous and now - rotated_at <= grace then
  return {'grace', current, s[5], s[6], s[7], s[8]}
end

redis.call('DEL', session)
redis.call('ZREM', index, sid)
return {'reused'}
