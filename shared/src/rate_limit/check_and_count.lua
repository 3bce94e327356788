-- Counts one attempt against every counter in KEYS (one slot: they share a hash
-- tag), in fixed windows, unless one of them is already at its limit.
-- ARGV: window_ms, then one limit per key.
-- Returns {1, 0} when the attempt is allowed (and counted), or {0, ms} when refused:
-- ms until the blocking counter's window ends. A refused attempt counts nowhere, so
-- a flood that is already refused cannot push the owner's own counters further.
local window = tonumber(ARGV[1])
local retry_after = -1
for i, key in ipairs(KEYS) do
  local count = tonumber(redis.call('GET', key) or '0')
  if count >= tonumber(ARGV[i + 1]) then
    local ttl = redis.call('PTTL', key)
    if ttl < 0 then
      -- A counter without expiry would block forever: give it its window.
      redis.call('PEXPIRE', key, window)
      ttl = window
    end
    retry_after = math.max(retry_after, ttl)
  end
end
if retry_after >= 0 then
  return {0, retry_after}
end
for _, key in ipairs(KEYS) do
  -- The first attempt starts the window.
  if redis.call('INCR', key) == 1 then
    redis.call('PEXPIRE', key, window)
  end
end
return {1, 0}
