-- Removes one session. (session_record.lua, prepended, describes KEYS.)
-- ARGV: sid (16 raw bytes), now_ms. Returns 1 if the session was live, 0 otherwise.
local sid, now = ARGV[1], tonumber(ARGV[2])
local record = redis.call('HGET', KEYS[1], sid)
if not record then
  return 0
end
forget(sid)
drop_if_empty()
if record_is_live(record, now) then
  return 1
end
return 0
