-- Lists a user's live sessions in one round trip and drops the ones that ended.
-- (session_record.lua, prepended, describes KEYS and the record.)
-- ARGV: now_ms. Returns a flat array: sid, created_ms, used_ms, metadata, ...
local out = {}
for _, session in ipairs(live_sessions(tonumber(ARGV[1]))) do
  table.insert(out, session.sid)
  table.insert(out, session.s.created)
  table.insert(out, session.s.used)
  table.insert(out, redis.call('HGET', KEYS[2], session.sid) or '')
end
drop_if_empty()
return out
