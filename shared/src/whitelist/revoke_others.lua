-- Ends every session of the user but one, in one round trip (a password change:
-- the device that made it stays signed in). (session_record.lua, prepended,
-- describes KEYS.) A refresh racing on another session either ran before (its new
-- token dies here with the record) or runs after (the record is gone): either way
-- that session is dead.
-- ARGV: the kept session's id (16 raw bytes), now_ms.
-- Returns the number of live sessions ended, or -1 if the kept one is not live (the
-- caller must not act on a dead session's word; nothing is changed then).
local keep, now = ARGV[1], tonumber(ARGV[2])
local kept = redis.call('HGET', KEYS[1], keep)
if not kept or not record_is_live(kept, now) then
  return -1
end
return end_others(keep, now)
