-- dead.lua: move a work item whose handling keeps raising to its shard's dead-letter stream.
--
-- Called by a worker after handling an entry raised (a bug, a corrupt record: not Redis
-- being away).  Below the delivery limit nothing changes: the entry stays pending and is
-- taken over again after its lease.  At the limit it is acknowledged, deleted from its
-- stream and added to the dead-letter stream, in one step, so it is never in both places
-- nor lost in between.  The execution itself is left as it is (SQS-style redrive:
-- Operations.requeue puts the message back); while the letter is here, describe shows the
-- execution stalled (Operations.stalls reads this stream).
--
-- KEYS[1]  the entry's stream (the shard's ready or tasks stream)
-- KEYS[2]  the shard's dead-letter stream
-- ARGV[1]  group: the stream's consumer group ("workers" or "invokers")
-- ARGV[2]  entry_id: the entry id
-- ARGV[3]  max_deliveries: moved when delivered at least this many times (0 = never)
-- ARGV[4]  message: the entry's message (field m)
-- ARGV[5]  failure: "<exception type>: <message>", at most 2 KB
-- ARGV[6]  consumer: the consumer that saw it fail
-- ARGV[7]  now (ms since the epoch)
-- Returns {times delivered, dead-letter entry id or KEPT}; {0, KEPT} when the entry is no
-- longer pending (acknowledged meanwhile by another worker).

local KEPT = ''

local stream, dead = KEYS[1], KEYS[2]
local group, entry_id, max_deliveries = ARGV[1], ARGV[2], tonumber(ARGV[3])
local message, failure, consumer, now = ARGV[4], ARGV[5], ARGV[6], ARGV[7]

local pending = redis.call('XPENDING', stream, group, 'IDLE', 0, entry_id, entry_id, 1)
if #pending == 0 then
  return {0, KEPT}
end
local delivered = tonumber(pending[1][4])
if max_deliveries <= 0 or delivered < max_deliveries then
  return {delivered, KEPT}
end
redis.call('XACK', stream, group, entry_id)
redis.call('XDEL', stream, entry_id)
local dead_id = redis.call('XADD', dead, '*', 'stream', stream, 'group', group, 'id', entry_id,
                           'm', message, 'error', failure, 'consumer', consumer, 'at', now)
return {delivered, dead_id}
