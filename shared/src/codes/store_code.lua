-- Stores a one-time code's keyed hash, replacing any previous code of this key
-- (a new code voids the old one), with its lifetime.
-- KEYS[1] = "code:{<subject>}:<purpose>"; ARGV: hash, extra (e.g. the new email of a
-- change; '' if none), ttl_ms.
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'h', ARGV[1], 'x', ARGV[2], 't', 0)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
