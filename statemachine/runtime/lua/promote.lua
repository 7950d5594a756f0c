-- promote.lua: move due timers of one shard into its ready stream.
--
-- Each due timer is removed and its work item enqueued in the same script, so several
-- schedulers may run side by side: a timer is promoted once.
--
-- KEYS[1]  the shard's timers zset (timer id -> due ms)
-- KEYS[2]  the shard's timer-events hash (timer id -> work item message), for the timers
--          whose work item is not the plain TimerFired one; that one, the usual, is built
--          here from the timer id "<execution id>:..." (the worker checked it needs no escaping)
-- KEYS[3]  the shard's ready stream
-- ARGV[1]  now (ms since the epoch)
-- ARGV[2]  the most timers to promote in this call
-- Returns {promoted, next due ms or -1 when no timer is left}.

local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, timer in ipairs(due) do
  local message = redis.call('HGET', KEYS[2], timer)
  if message then
    redis.call('HDEL', KEYS[2], timer)
  else
    message = '{"x":"' .. string.match(timer, '^[^:]+') .. '","e":{"type":"TimerFired","timer":"' ..
              timer .. '"}}'
  end
  redis.call('XADD', KEYS[3], '*', 'm', message)
  redis.call('ZREM', KEYS[1], timer)
end
local nxt = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if nxt[2] then
  return {#due, tonumber(nxt[2])}
end
return {#due, -1}
