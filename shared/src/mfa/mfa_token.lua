-- The short-lived token between a right password and the second factor.
-- KEYS[1] = "mfa:{<token>}", a hash: u = the user id, t = wrong codes so far.
-- ARGV[1] = the step: 'peek' returns the user id (or false when gone), 'fail'
-- counts a wrong code and deletes the token at ARGV[2] wrong codes, 'burn' deletes
-- it and returns 1 only to the one caller that did (a token opens one session).
local step = ARGV[1]
if step == 'peek' then
  return redis.call('HGET', KEYS[1], 'u')
end
if step == 'fail' then
  if redis.call('EXISTS', KEYS[1]) == 1 and redis.call('HINCRBY', KEYS[1], 't', 1) >= tonumber(ARGV[2]) then
    redis.call('DEL', KEYS[1])
  end
  return 0
end
return redis.call('DEL', KEYS[1])
