-- dead.lua: move a work item whose handling keeps raising to its shard's dead-letter stream.
--
-- Called by a worker after handling an entry raised (a bug, a corrupt record: not Redis
-- being away).  Below the delivery limit nothing changes: the entry stays pending and is
-- taken over again after its lease.  At the limit it is acknowledged, deleted from its
-- stream and added to the dead-letter stream, in one step, so it is never in both places
-- nor lost in between.  The execution itself is left as it is (SQS-style redrive:
-- Service.requeue_dead_letter puts the message back).
--
-- KEYS[1]  the entry's stream (the shard's ready or tasks stream)
-- KEYS[2]  the shard's dead-letter stream
-- ARGV[1]  the stream's consumer group ("workers" or "invokers")
-- ARGV[2]  the entry id
-- ARGV[3]  max deliveries (moved when delivered at least this many times; 0 = never)
-- ARGV[4]  the entry's message (field m)
-- ARGV[5]  the error ("<exception type>: <message>", at most 2 KB)
-- ARGV[6]  the consumer that saw it fail
-- ARGV[7]  now (ms since the epoch)
-- Returns {times delivered, dead-letter entry id or ""}; {0, ""} when the entry is no longer
-- pending (acknowledged meanwhile by another worker).

local pending = redis.call('XPENDING', KEYS[1], ARGV[1], 'IDLE', 0, ARGV[2], ARGV[2], 1)
if #pending == 0 then
  return {0, ''}
end
local delivered = tonumber(pending[1][4])
local limit = tonumber(ARGV[3])
if limit <= 0 or delivered < limit then
  return {delivered, ''}
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
local dead = redis.call('XADD', KEYS[2], '*', 'stream', KEYS[1], 'group', ARGV[1], 'id', ARGV[2],
                        'm', ARGV[4], 'error', ARGV[5], 'consumer', ARGV[6], 'at', ARGV[7])
return {delivered, dead}
