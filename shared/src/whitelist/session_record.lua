-- Prepended to every session script (the `session_script!` macro in mod.rs).
--
-- A user's whole whitelist is one hash, so every script touches one key (one
-- cluster slot, whatever else it does):
--   KEYS[1] = "sess:{uid}": field "e" = the user's email and "v" = '1' once it is
--             verified (the id token's claims: a refresh mints them from here);
--             one field per session: the session id (16 raw bytes) -> its record,
--             which also holds what GET /sessions shows (address, device);
--             "c" = when the user's credentials or sessions last changed (ms): a
--             sign-in that proved the password from a read older than that opens
--             nothing (it raced a password change, a disable, a deletion);
--             only session fields are 16 bytes long.
-- A record is packed with Redis's `struct` library, big-endian (47 bytes + address):
--   jti     c16 the current refresh token's id
--   pjti    c8  the first 8 bytes of the previous one (zeros before the first
--               rotation): the grace window and reuse detection compare a presented
--               jti's first 8 bytes with it. Never re-minted (a grace reply re-mints
--               the *current* jti), and a presented jti is one this service minted
--               for this very session (its HMAC and its sid were checked), so 8 bytes
--               (60 random bits of a v4 uuid) tell the session's tokens apart; the 8
--               saved bytes are what lets an IPv6 address fit whole
--   created I6  when the session opened, ms (the absolute lifetime counts from it)
--   used    I6  last rotation (or opening), ms: last use, start of the grace window,
--               and the current token's `iat` (its seconds)
--   exp     I4  the current token's `exp`, s: the session is live while now < exp
--   kid     c4  tag of the kid of the HMAC secret that signed the current token: the
--               first 4 bytes of SHA-256(kid), resolved back to the kid by the
--               functions among the refresh secrets they hold (mod.rs refuses a key
--               document where two kids share a tag); fixed size whatever the kid's
--               length, and only a held secret can re-mint a token anyway
--   flags   B   bit 1: the session was opened with a second factor (the id token's
--               `amr`, kept by every refresh); bit 128: always set, the mark of this
--               layout (see "Records of the previous layout" below)
--   device  c2  the device that opened the session: browser << 4 | system, major
--               version (shared/src/device.rs; GET /sessions shows its label)
--   addr    rest the source address that made the last rotation (or opened the
--               session), raw: 4 bytes for IPv4, 16 for IPv6, empty if the edge gave
--               none. Only that exact address gets the grace reply; GET /sessions
--               shows it.
-- So a record is 51 bytes for IPv4 and 63 for IPv6: every value of the hash stays
-- within 64 bytes (`hash-max-listpack-value`, fixed on ElastiCache Serverless), so
-- the hash keeps Redis's compact listpack encoding (an email up to 64 bytes too).
-- Records of the previous layout (56 bytes + kid, with a second hash "meta:{uid}"
-- beside; before issue 19) are never live: their sessions sign in again, and the
-- next script that reads the whole hash drops them ("meta:{uid}" expires by its
-- TTL). They are told apart by their length (56 + the kid's: 63 only for a kid of 7
-- bytes) and by byte 45, this layout's flags, where the old layout has the high byte
-- of its `exp` (below 128 until 2038).
-- Redis expires the key when the user's last session ends. A session that ends
-- before others is never live again (every script checks `exp`) and its record is
-- dropped by the next script that reads the whole hash (sign-up/sign-in, listing,
-- revoke-all); rotation and sign-out read only their own field.
-- shared/src/whitelist/record.rs decodes the same layout.
local RECORD = '>c16c8I6I6I4c4Bc2'
local RECORD_FIXED_BYTES = 47
local EXP_OFFSET = 37
local PJTI_BYTES = 8
local FLAGS_OFFSET = 45
local LAYOUT_FLAG = 128
local EMAIL = 'e'
local VERIFIED = 'v'
local CHANGED = 'c'
-- How long the marker outlives a revoke-all: longer than any sign-in in flight.
local CHANGED_MARKER_MS = 60000

local function is_session(field)
  return #field == 16
end

-- Whether a record has this layout: 47 bytes + an address of 0, 4 or 16, and the
-- layout's flag set.
local function is_current_layout(record)
  local n = #record - RECORD_FIXED_BYTES
  return (n == 0 or n == 4 or n == 16) and string.byte(record, FLAGS_OFFSET) >= LAYOUT_FLAG
end

-- A record as a table; `current` is false for a record of the previous layout (its
-- other fields are then meaningless, and it is never live).
local function decode(record)
  if not is_current_layout(record) then
    return { current = false, exp = 0 }
  end
  local jti, pjti, created, used, exp, kid, flags, device = struct.unpack(RECORD, record)
  return { current = true, jti = jti, pjti = pjti, created = created, used = used, exp = exp,
           kid = kid, flags = flags, device = device,
           addr = string.sub(record, RECORD_FIXED_BYTES + 1) }
end

local function encode(s)
  local flags = LAYOUT_FLAG + (s.flags % LAYOUT_FLAG)
  return struct.pack(RECORD, s.jti, s.pjti, s.created, s.used, s.exp, s.kid, flags, s.device)
    .. s.addr
end

-- What a record keeps of a (previous) jti: its first 8 bytes.
local function short_jti(jti)
  return string.sub(jti, 1, PJTI_BYTES)
end

local function is_live(s, now)
  return s.current and now < s.exp * 1000
end

-- Whether a record is live, reading its `exp` alone (bytes 37-40): cheaper than
-- decode() where nothing else is needed.
local function record_is_live(record, now)
  return is_current_layout(record) and now < struct.unpack('>I4', record, EXP_OFFSET) * 1000
end

-- Redis's own clock, in ms: scripts that must not act late compare a deadline with it.
local function redis_now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function forget(sid)
  redis.call('HDEL', KEYS[1], sid)
end

-- When only the user's fields are left, the user has no session: drop the key.
local function drop_if_empty()
  local own = redis.call('HEXISTS', KEYS[1], EMAIL) + redis.call('HEXISTS', KEYS[1], VERIFIED)
    + redis.call('HEXISTS', KEYS[1], CHANGED)
  if redis.call('HLEN', KEYS[1]) <= own then
    redis.call('DEL', KEYS[1])
  end
end

-- The user's live sessions as a list of {sid, s, record}; drops the ones that ended.
local function live_sessions(now)
  local flat = redis.call('HGETALL', KEYS[1])
  local live = {}
  for i = 1, #flat, 2 do
    if is_session(flat[i]) then
      local s = decode(flat[i + 1])
      if is_live(s, now) then
        table.insert(live, { sid = flat[i], s = s, record = flat[i + 1] })
      else
        forget(flat[i])
      end
    end
  end
  return live
end

-- The key lives at least until expires_ms (never shortened: other sessions may need
-- it longer). Compared as absolute times (PEXPIRETIME, Redis 7+), so a function's
-- clock that differs from Redis's cannot shorten it.
local function keep_until(expires_ms)
  local expires_at = redis.call('PEXPIRETIME', KEYS[1])
  if expires_at == -1 or (expires_at >= 0 and expires_at < expires_ms) then
    redis.call('PEXPIREAT', KEYS[1], expires_ms)
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
