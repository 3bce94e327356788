-- Removes one session and its index entry together.
-- KEYS[1] = "sess:{uid}" (index), KEYS[2] = "sess:{uid}:<sid>"; ARGV[1] = sid
-- Returns 1 if the session existed, 0 otherwise.
local existed = redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[1], ARGV[1])
return existed
