-- Redeems a one-time code: single use, and burned after max_tries wrong guesses.
-- KEYS[1] = the code's key; ARGV: hash of the presented code, max_tries.
-- Returns {'ok', extra} (the code is gone), {'wrong'} or {'missing'} (none, expired,
-- used or burned). Comparing keyed hashes with == leaks nothing a guesser can use:
-- without the key, the hash of a guess says nothing about the code.
local stored = redis.call('HMGET', KEYS[1], 'h', 'x')
if not stored[1] then
  return {'missing'}
end
if stored[1] == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return {'ok', stored[2]}
end
if redis.call('HINCRBY', KEYS[1], 't', 1) >= tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[1])
end
return {'wrong'}
