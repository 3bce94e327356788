-- Removes every session of one user in one round trip. The index lists the user's
-- sessions, so the cost grows with that user's sessions (at most the cap), never
-- with the size of the keyspace: no SCAN, no KEYS.
-- KEYS[1] = "sess:{uid}"; session keys are "<index>:<sid>" (same hash tag, same slot).
-- Returns the number of live sessions removed.
local index = KEYS[1]
local removed = 0
for _, sid in ipairs(redis.call('ZRANGE', index, 0, -1)) do
  removed = removed + redis.call('DEL', index .. ':' .. sid)
end
redis.call('DEL', index)
return removed
