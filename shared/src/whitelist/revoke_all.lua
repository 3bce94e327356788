-- Removes every session of one user in one round trip: the user's whole whitelist
-- is its two keys, so the cost never depends on the size of the keyspace (no SCAN,
-- no KEYS). (session_record.lua, prepended, describes KEYS.)
-- ARGV: now_ms. Returns the number of live sessions removed.
local live = #live_sessions(tonumber(ARGV[1]))
redis.call('DEL', KEYS[1], KEYS[2])
return live
