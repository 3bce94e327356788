-- Removes every session of one user in one round trip: the user's whole whitelist
-- is its one key, so the cost never depends on the size of the keyspace (no SCAN,
-- no KEYS). (session_record.lua, prepended, describes KEYS.)
-- ARGV: now_ms. Returns the number of live sessions removed (for the security log).
-- Only the "changed" marker stays, for a minute: a sign-in in flight cannot open a
-- session behind this revocation.
local now, live = tonumber(ARGV[1]), 0
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
