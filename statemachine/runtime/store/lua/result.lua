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
-- ARGV[1]  entry_id: the dispatch's stream id
-- ARGV[2]  message: the work item to enqueue ("" = none: a callback task just acks)
-- ARGV[3]  token: the task token the result answers
-- Returns COMMITTED, or ALREADY_ACKED when the dispatch had already been acknowledged.

local COMMITTED = 1
local ALREADY_ACKED = 0

local tasks, ready, record = KEYS[1], KEYS[2], KEYS[3]
local entry_id, message, token = ARGV[1], ARGV[2], ARGV[3]

if redis.call('XACK', tasks, 'invokers', entry_id) == 0 then
  return ALREADY_ACKED
end
redis.call('XDEL', tasks, entry_id)
if message ~= '' then
  local fields = redis.call('HMGET', record, 'status', 'token')
  if fields[1] == 'RUNNING' and fields[2] == token then
    redis.call('XADD', ready, '*', 'm', message)
  end
end
return COMMITTED
