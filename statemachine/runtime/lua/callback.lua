-- callback.lua: SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat.
--
-- The event is enqueued only while the record waits for this very token.  Success and
-- failure also empty the record's token field, so a repeated callback is refused here
-- (the caller reports TaskTimedOut, as AWS does for a closed task); the worker's
-- compare-and-set would make it harmless anyway.
--
-- KEYS[1]  the execution's record hash
-- KEYS[2]  the shard's ready stream
-- ARGV[1]  the task token
-- ARGV[2]  the work item message to enqueue
-- ARGV[3]  "1" to consume the token (success, failure), "0" to keep it (heartbeat)
-- Returns 1 when enqueued, 0 when the token is not the one awaited, -1 when no record.

local fields = redis.call('HMGET', KEYS[1], 'token', 'status')
if fields[2] == false then
  return -1
end
if fields[2] ~= 'RUNNING' or fields[1] ~= ARGV[1] then
  return 0
end
if ARGV[3] == '1' then
  redis.call('HSET', KEYS[1], 'token', '')
end
redis.call('XADD', KEYS[2], '*', 'm', ARGV[2])
return 1
