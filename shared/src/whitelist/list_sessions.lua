-- Lists a user's live sessions, most recently used first, in one round trip, and
-- drops index entries whose session expired on its own.
-- KEYS[1] = "sess:{uid}". Returns a flat array: sid, created, used, ua, ip, ...
local index = KEYS[1]
local out = {}
for _, sid in ipairs(redis.call('ZREVRANGE', index, 0, -1)) do
  local s = redis.call('HMGET', index .. ':' .. sid, 'created', 'used', 'ua', 'ip')
  if s[1] then
    table.insert(out, sid)
    table.insert(out, s[1])
    table.insert(out, s[2])
    table.insert(out, s[3] or '')
    table.insert(out, s[4] or '')
  else
    redis.call('ZREM', index, sid)
  end
end
return out
