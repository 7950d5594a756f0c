-- result.lua: an invoker's result — acknowledge the dispatch and enqueue the event, together.
--
-- If the dispatch is no longer pending (another invoker already committed its result),
-- nothing is enqueued: a retried or duplicated commit adds no second event.  Nor is it
-- when the execution no longer waits for this task (stopped, timed out, answered): the
-- worker would ignore the event anyway, and checking here saves it a read per task.
--
-- KEYS[1]  the shard's tasks stream (outbox; group "invokers")
-- KEYS[2]  the shard's ready stream
-- KEYS[3]  the execution's record hash
-- ARGV[1]  the dispatch's stream id
-- ARGV[2]  the work item message to enqueue ("" = none: a callback task just acks)
-- ARGV[3]  the task token the result answers
-- Returns 1 when committed, 0 when the dispatch had already been acknowledged.

if redis.call('XACK', KEYS[1], 'invokers', ARGV[1]) == 0 then
  return 0
end
redis.call('XDEL', KEYS[1], ARGV[1])
if ARGV[2] ~= '' then
  local record = redis.call('HMGET', KEYS[3], 'status', 'token')
  if record[1] == 'RUNNING' and record[2] == ARGV[3] then
    redis.call('XADD', KEYS[2], '*', 'm', ARGV[2])
  end
end
return 1
