-- archive.lua: replace an archived root's record with a stub and drop its history.
--
-- The archiver read the record (at rev ARGV[1]) and its history, and stored them in the
-- bucket; only now, and only if the record is still the one it read, Redis lets them go.
-- The record hash keeps what a listing shows (l: the record without its payloads), its
-- status and a rev one higher than the archived one (a stale compare-and-set, a redrive
-- of the record as it was, fails), with the expiry the record had, so the sweeper drops
-- the index entries when it would have.  The root leaves the to-archive zset and enters
-- the archived zset, scored by when its retention ends (its object is deleted then).
--
-- KEYS[1]  the record hash
-- KEYS[2]  the root's history list
-- KEYS[3]  the shard's to-archive zset (root id -> finished ms)
-- KEYS[4]  the shard's archived zset (root id -> retention end ms)
-- ARGV[1]  rev: the record version archived
-- ARGV[2]  listed: the stub's l field (codec.listed_record)
-- ARGV[3]  execution_id: its member in the zsets
-- ARGV[4]  now: ms
-- Returns ARCHIVED; CHANGED when the record moved on (or runs again, or is a stub
-- already); GONE when there is no record (it expired).

local ARCHIVED = 1
local CHANGED = 0
local GONE = -1

local record, history, pending, archived = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local rev, listed, execution_id, now = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])

local fields = redis.call('HMGET', record, 'rev', 'status', 'l')
if not fields[1] then
  redis.call('ZREM', pending, execution_id)
  return GONE
end
if fields[2] == 'RUNNING' then  -- redriven since it finished: it comes back when it ends
  redis.call('ZREM', pending, execution_id)
  return CHANGED
end
if fields[1] ~= rev or fields[3] then
  return CHANGED
end
local ttl = redis.call('PTTL', record)
redis.call('DEL', record, history)
redis.call('HSET', record, 'l', listed, 'rev', tonumber(rev) + 1, 'status', fields[2])
if ttl > 0 then
  redis.call('PEXPIRE', record, ttl)
  redis.call('ZADD', archived, now + ttl, execution_id)
end
redis.call('ZREM', pending, execution_id)
return ARCHIVED
