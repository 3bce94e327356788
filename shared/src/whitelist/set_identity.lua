-- Updates the claims a refresh mints from (the email, whether it is verified) and,
-- for an email change, ends every other session, in one round trip.
-- (session_record.lua, prepended, describes KEYS.)
-- ARGV: email ('' keeps it), verified ('1' or '0'), keep (a session id to keep while
-- every other one ends, or '' to end none), now_ms.
-- Returns the number of sessions ended. A user without sessions has no hash: nothing
-- to update (sign-in copies both claims from DynamoDB into the next one).
local email, verified, keep, now = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
if email ~= '' then
  redis.call('HSET', KEYS[1], EMAIL, email)
end
redis.call('HSET', KEYS[1], VERIFIED, verified)
if keep == '' then
  return 0
end
return end_others(keep, now)
