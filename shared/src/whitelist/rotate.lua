-- Rotates a session's refresh token. Exactly one caller presenting the current jti
-- wins; Redis runs scripts one at a time, so there is no interleaving to guard.
-- (session_record.lua, prepended, describes KEYS and the record.)
-- ARGV: sid, presented_jti, new_jti (16 raw bytes each), now_ms, refresh_ttl_ms,
--       session_lifetime_ms, grace_ms, kid (its 4-byte tag), addr (the caller's
--       address, raw: 4 or 16 bytes, or empty), deadline_ms
-- Returns {outcome, jti, iat, exp, kid (tag), email, verified, otp} where otp is 1
-- when the session was opened with a second factor (bit 1 of its flags), and outcome is
--   'rotated'  the presented jti was current; the session moved to new_jti;
--   'grace'    the presented jti was rotated out at most grace_ms ago by a caller
--              from the same address (the record keeps the whole address, compared
--              byte for byte): it gets the winner's grant (same jti/iat/exp/kid), so
--              a client that fired several refreshes at once is not logged out;
-- or {'missing'} (no such session, or past its absolute lifetime),
--    {'late'}    Redis ran this after deadline_ms (Redis's clock): the function has
--                already answered 503, so nothing may change (a rotation the client
--                never hears of would turn its retry into "reuse");
--    {'other_address'} the previous jti, inside the grace window, from another
--                address: refused, but the session stays (a relay may move a real
--                client between two concurrent calls; the caller learns nothing);
--    {'reused'}  a rotated-out token after the grace window: treated as theft,
--                the whole session is revoked at once.
local sid, presented, new_jti = ARGV[1], ARGV[2], ARGV[3]
local now, ttl, lifetime = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local grace, kid, addr, deadline = tonumber(ARGV[7]), ARGV[8], ARGV[9], tonumber(ARGV[10])

if redis_now_ms() > deadline then
  return {'late'}
end

local found = redis.call('HMGET', KEYS[1], sid, EMAIL, VERIFIED)
if not found[1] then
  return {'missing'}
end
local s, email, verified = decode(found[1]), found[2], found[3] or '0'
-- Rotation never extends a session past its absolute lifetime. (A record of the
-- previous layout is never live: `s.current` is false.)
local exp = s.current and math.floor(math.min(now + ttl, s.created + lifetime) / 1000) or 0
if not is_live(s, now) or exp * 1000 <= now then
  forget(sid)
  drop_if_empty()
  return {'missing'}
end
local otp = s.flags % 2

if presented == s.jti then
  -- The flags and the device that opened the session stay; the address is the
  -- rotating caller's, the only one a grace reply may go to.
  s.pjti, s.jti, s.used, s.exp, s.kid, s.addr = short_jti(presented), new_jti, now, exp, kid, addr
  redis.call('HSET', KEYS[1], sid, encode(s))
  keep_until(exp * 1000)
  return {'rotated', new_jti, math.floor(now / 1000), exp, kid, email, verified, otp}
end

if short_jti(presented) == s.pjti and now - s.used <= grace then
  if addr ~= s.addr then
    return {'other_address'}
  end
  return {'grace', s.jti, math.floor(s.used / 1000), s.exp, s.kid, email, verified, otp}
end

forget(sid)
drop_if_empty()
return {'reused'}
