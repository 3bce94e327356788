-- Opens a session, evicting the least recently used ones beyond the cap, atomically.
-- (session_record.lua, prepended, describes KEYS and the record.)
-- ARGV: sid, jti (16 raw bytes each), now_ms, exp_s, cap, kid (its 4-byte tag),
--       email, flags (a number: bit 1 = opened with a second factor),
--       device (2 bytes), addr (the opening address, raw: the first one entitled to
--       a grace reply), verified ('1' when the email is verified), proof_ms (when the
--       proof of identity was read: a password hash, a user record)
-- Returns the number of sessions evicted, or -1 when the user's credentials or
-- sessions changed after the proof was read (nothing is opened).
local sid, jti, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local exp, cap, kid = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]

local changed = redis.call('HGET', KEYS[1], CHANGED)
if changed and tonumber(changed) > tonumber(ARGV[12]) then
  return -1
end

-- A retry of this very call (its reply was lost with the connection) must not count
-- the session it already opened against the cap and evict another one.
if redis.call('HEXISTS', KEYS[1], sid) == 1 then
  return 0
end

local live = live_sessions(now)
table.sort(live, function(a, b) return a.s.used < b.s.used end)
local evicted = 0
while #live - evicted >= cap do
  evicted = evicted + 1
  forget(live[evicted].sid)
end

local record = { jti = jti, pjti = string.rep('\0', PJTI_BYTES), created = now, used = now,
                 exp = exp, kid = kid, flags = tonumber(ARGV[8]), device = ARGV[9],
                 addr = ARGV[10] }
redis.call('HSET', KEYS[1], sid, encode(record), EMAIL, ARGV[7], VERIFIED, ARGV[11])
keep_until(exp * 1000)
return evicted
