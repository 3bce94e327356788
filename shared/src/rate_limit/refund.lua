-- Gives back one counted attempt (a request whose mail never left). Only a counter
-- that still exists: DECR on an expired one would create a counter without expiry.
-- KEYS[1] = the counter.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('DECR', KEYS[1])
end
return 0
