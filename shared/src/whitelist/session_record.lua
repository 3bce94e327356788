-- Prepended to every session script (the `session_script!` macro in mod.rs).
--
-- A user's whole whitelist is two hashes under the user's hash tag, so every script
-- touches one cluster slot:
--   KEYS[1] = "sess:{uid}": field "e" = the user's email and "v" = '1' once it is
--             verified (the id token's claims: a refresh mints them from here);
--             one field per session: the session id (16 raw bytes) -> its record;
--             "c" = when the user's credentials or sessions last changed (ms): a
--             sign-in that proved the password from a read older than that opens
--             nothing (it raced a password change, a disable, a deletion);
--             only session fields are 16 bytes long;
--   KEYS[2] = "meta:{uid}": session id -> what GET /sessions shows (ip, user agent),
--             written and read by Rust only; kept apart so that long user agents
--             do not push the records out of Redis's compact listpack encoding.
-- A record is packed with Redis's `struct` library, big-endian (56 bytes + kid):
--   jti   c16  the current refresh token's id
--   pjti  c16  the previous one (zeros before the first rotation): the grace window
--   created I6 when the session opened, ms (the absolute lifetime counts from it)
--   used  I6   last rotation (or opening), ms: last use, start of the grace window,
--              and the current token's `iat` (its seconds)
--   exp   I4   the current token's `exp`, s: the session is live while now < exp
--   addr  c8   fingerprint of the source address that made the last rotation (or
--              opened the session): only that address gets the grace reply
--   kid   rest the kid of the HMAC secret that signed the current token
-- Redis expires both keys when the user's last session ends. A session that ends
-- before others is never live again (every script checks `exp`) and its record is
-- dropped by the next script that reads the whole hash (sign-up/sign-in, listing,
-- revoke-all); rotation and sign-out read only their own field.
-- Records stay in Redis's compact listpack encoding while every field is at most
-- 64 bytes (`hash-max-listpack-value`): a kid up to 8 bytes, an email up to 64.
-- shared/src/whitelist/record.rs decodes the same layout.
local RECORD = '>c16c16I6I6I4c8'
local RECORD_FIXED_BYTES = 56
local EXP_OFFSET = 45
local EMAIL = 'e'
local VERIFIED = 'v'
local CHANGED = 'c'
-- How long the marker outlives a revoke-all: longer than any sign-in in flight.
local CHANGED_MARKER_MS = 60000

local function is_session(field)
  return #field == 16
end

local function decode(record)
  local jti, pjti, created, used, exp, addr = struct.unpack(RECORD, record)
  return { jti = jti, pjti = pjti, created = created, used = used, exp = exp, addr = addr,
           kid = string.sub(record, RECORD_FIXED_BYTES + 1) }
end

local function encode(s)
  return struct.pack(RECORD, s.jti, s.pjti, s.created, s.used, s.exp, s.addr) .. s.kid
end

local function is_live(s, now)
  return now < s.exp * 1000
end

-- Whether a record is live, reading its `exp` alone (bytes 45-48): cheaper than
-- decode() where nothing else is needed.
local function record_is_live(record, now)
  return now < struct.unpack('>I4', record, EXP_OFFSET) * 1000
end

-- Redis's own clock, in ms: scripts that must not act late compare a deadline with it.
local function redis_now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function forget(sid)
  redis.call('HDEL', KEYS[1], sid)
  redis.call('HDEL', KEYS[2], sid)
end

-- When only the user's fields are left, the user has no session: drop both keys.
local function drop_if_empty()
  local own = redis.call('HEXISTS', KEYS[1], EMAIL) + redis.call('HEXISTS', KEYS[1], VERIFIED)
    + redis.call('HEXISTS', KEYS[1], CHANGED)
  if redis.call('HLEN', KEYS[1]) <= own then
    redis.call('DEL', KEYS[1], KEYS[2])
  end
end

-- The user's live sessions as a list of {sid, s}; drops the ones that ended.
local function live_sessions(now)
  local flat = redis.call('HGETALL', KEYS[1])
  local live = {}
  for i = 1, #flat, 2 do
    if is_session(flat[i]) then
      local s = decode(flat[i + 1])
      if is_live(s, now) then
        table.insert(live, { sid = flat[i], s = s })
      else
        forget(flat[i])
      end
    end
  end
  return live
end

-- Both keys live at least until expires_ms (never shortened: other sessions may
-- need them longer). Compared as absolute times (PEXPIRETIME, Redis 7+), so a
-- function's clock that differs from Redis's cannot shorten them.
local function keep_until(expires_ms)
  for _, key in ipairs(KEYS) do
    local expires_at = redis.call('PEXPIRETIME', key)
    if expires_at == -1 or (expires_at >= 0 and expires_at < expires_ms) then
      redis.call('PEXPIREAT', key, expires_ms)
    end
  end
end

-- Ends every live session but `keep`; returns how many ended.
local function end_others(keep, now)
  redis.call('HSET', KEYS[1], CHANGED, now)
  local ended = 0
  for _, session in ipairs(live_sessions(now)) do
    if session.sid ~= keep then
      forget(session.sid)
      ended = ended + 1
    end
  end
  return ended
end
