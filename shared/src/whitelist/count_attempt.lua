-- Counts one sign-in attempt in a fixed window; the first attempt starts the window.
-- KEYS[1] = the counter; ARGV[1] = window in ms. Returns {count, ms until the window ends}.
local count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
