-- restore.lua: take an archived root back into Redis (before a redrive).
--
-- Writes back the record hash's fields and the history the bucket holds, in place of the
-- stub, only if the stub is still the one the caller saw (its rev); same expiry as the
-- stub.  The root leaves the archived zset (its object stays until it is archived again,
-- which overwrites it).
--
-- KEYS[1]  the record hash (a stub)
-- KEYS[2]  the root's history list
-- KEYS[3]  the shard's archived zset
-- ARGV[1]  rev: the stub's rev
-- ARGV[2]  execution_id: its member in the archived zset
-- ARGV[3]  n: the number of record fields that follow as name, value pairs
-- ARGV[4 .. 3+2n]  the record's fields
-- ARGV[4+2n ..]    the history events, as stored, in order
-- Returns RESTORED; LIVE when the record is no stub (restored already); CHANGED when the
-- stub's rev is another; GONE when there is no record.

local RESTORED = 1
local LIVE = 0
local CHANGED = -1
local GONE = -2
local CHUNK = 1000  -- RPUSH arguments per call (Lua's unpack has a limit)

local record, history, archived = KEYS[1], KEYS[2], KEYS[3]
local rev, execution_id, n = ARGV[1], ARGV[2], tonumber(ARGV[3])

local fields = redis.call('HMGET', record, 'rev', 'l')
if not fields[1] then
  return GONE
end
if not fields[2] then
  return LIVE
end
if fields[1] ~= rev then
  return CHANGED
end
local ttl = redis.call('PTTL', record)
redis.call('DEL', record, history)
redis.call('HSET', record, unpack(ARGV, 4, 3 + 2 * n))
local first = 4 + 2 * n
for i = first, #ARGV, CHUNK do
  redis.call('RPUSH', history, unpack(ARGV, i, math.min(i + CHUNK - 1, #ARGV)))
end
if ttl > 0 then
  redis.call('PEXPIRE', record, ttl)
  if #ARGV >= first then
    redis.call('PEXPIRE', history, ttl)
  end
end
redis.call('ZREM', archived, execution_id)
return RESTORED
