-- Lists a user's live sessions in one round trip and drops the ones that ended.
-- (session_record.lua, prepended, describes KEYS and the record.)
-- ARGV: now_ms. Returns a flat array: sid, record, ... (the record as stored:
-- record.rs decodes what GET /sessions shows from it).
local out = {}
for _, session in ipairs(live_sessions(tonumber(ARGV[1]))) do
  table.insert(out, session.sid)
  table.insert(out, session.record)
end
drop_if_empty()
return out
