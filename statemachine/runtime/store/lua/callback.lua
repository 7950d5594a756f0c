-- callback.lua: SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat.
--
-- The event is enqueued only while the record waits for this very token.  Success and
-- failure also empty the record's token field, so a repeated callback is refused here
-- (the caller reports TaskTimedOut, as AWS does for a closed task); the worker's
-- compare-and-set would make it harmless anyway.
--
-- The caller does not know the execution's queue: it names the ready stream of the queue it
-- guesses (the default one first), and when the record's q field names another, nothing is
-- written and that queue is returned, for the caller to call again with its stream.
--
-- KEYS[1]  the execution's record hash
-- KEYS[2]  the ready stream of the queue ARGV[4] (its lane: keys.py)
-- ARGV[1]  token: the task token
-- ARGV[2]  message: the work item to enqueue (codec.work_item)
-- ARGV[3]  consume: "1" to consume the token (success, failure), "0" to keep it (heartbeat)
-- ARGV[4]  queue: the queue KEYS[2] belongs to ("" the default one)
-- Returns {ENQUEUED, issued} (issued: the record's "issued" field, ms when a callback
-- task's token was issued, or 0 when it has none), {NOT_AWAITED} (the token is not the one
-- awaited), {NO_RECORD}, or {OTHER_QUEUE, queue} when the execution's queue is not ARGV[4].

local ENQUEUED = 1
local NOT_AWAITED = 0
local NO_RECORD = -1
local OTHER_QUEUE = -2

local record, ready = KEYS[1], KEYS[2]
local token, message, consume, queue = ARGV[1], ARGV[2], ARGV[3] == '1', ARGV[4]

local fields = redis.call('HMGET', record, 'token', 'status', 'q', 'issued')
local awaited, status = fields[1], fields[2]
if status == false then
  return {NO_RECORD}
end
if (fields[3] or '') ~= queue then
  return {OTHER_QUEUE, fields[3] or ''}
end
if status ~= 'RUNNING' or awaited ~= token then
  return {NOT_AWAITED}
end
if consume then
  redis.call('HSET', record, 'token', '')
end
redis.call('XADD', ready, '*', 'm', message)
return {ENQUEUED, tonumber(fields[4]) or 0}
