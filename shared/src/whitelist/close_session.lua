-- Removes one session. (session_record.lua, prepended, describes KEYS.)
-- ARGV: sid (16 raw bytes), now_ms, presented_jti (16 raw bytes, or '' when the
--       caller proved itself otherwise: the session's owner by id token, or the
--       sign-up that just opened it), grace_ms
-- Returns 'closed' (the session was live and is gone), 'missing', or 'reused': a
-- rotated-out refresh token (older than the previous one, or the previous one after
-- the grace window) is theft as in rotate.lua, and the session ends all the same.
local sid, now, presented, grace = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local record = redis.call('HGET', KEYS[1], sid)
if not record then
  return 'missing'
end
forget(sid)
drop_if_empty()
local s = decode(record)
if not is_live(s, now) then
  return 'missing'
end
if presented == '' or presented == s.jti
    or (short_jti(presented) == s.pjti and now - s.used <= grace) then
  return 'closed'
end
return 'reused'
