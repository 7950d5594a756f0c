-- result.lua: an invoker's result — acknowledge the dispatch and enqueue the event, together.
--
-- If the dispatch is no longer pending (another invoker already committed its result),
-- nothing is enqueued: a retried or duplicated commit adds no second event.
--
-- KEYS[1]  the shard's tasks stream (outbox; group "invokers")
-- KEYS[2]  the shard's ready stream
-- ARGV[1]  the dispatch's stream id
-- ARGV[2]  the work item message to enqueue ("" = none: a callback task just acks)
-- Returns 1 when committed, 0 when the dispatch had already been acknowledged.

if redis.call('XACK', KEYS[1], 'invokers', ARGV[1]) == 0 then
  return 0
end
redis.call('XDEL', KEYS[1], ARGV[1])
if ARGV[2] ~= '' then
  redis.call('XADD', KEYS[2], '*', 'm', ARGV[2])
end
return 1
