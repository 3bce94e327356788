-- Removes every session of one user in one round trip: the user's whole whitelist
-- is its one key, so the cost never depends on the size of the keyspace (no SCAN,
-- no KEYS). (session_record.lua, prepended, describes KEYS.)
-- ARGV: now_ms, then the id of the session asking (POST /revoke-all: its id token's
-- `sid`), or '' (an operator, a password reset). Returns the number of live sessions
-- removed (for the security log), or -1 when the asking session is not live: then
-- nothing changes (a dead session's id token is refused by this same round trip).
-- Only the "changed" marker stays, for a minute: a sign-in in flight cannot open a
-- session behind this revocation.
local now, asking, live = tonumber(ARGV[1]), ARGV[2], 0
if asking ~= '' then
  local own = redis.call('HGET', KEYS[1], asking)
  if not own or not record_is_live(own, now) then
    return -1
  end
end
local flat = redis.call('HGETALL', KEYS[1])
for i = 1, #flat, 2 do
  if is_session(flat[i]) and record_is_live(flat[i + 1], now) then
    live = live + 1
  end
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], CHANGED, now)
redis.call('PEXPIRE', KEYS[1], CHANGED_MARKER_MS)
return live
