-- promote.lua: move due timers of one lane (a queue on a shard, keys.Lane) into its ready stream.
--
-- Each due timer is removed and its work item enqueued in the same script, so several
-- schedulers may run side by side: a timer is promoted once.
--
-- KEYS[1]  the lane's timers zset (timer id -> due ms)
-- KEYS[2]  the lane's timer-events hash (timer id -> work item message), for the timers
--          whose work item is not the plain TimerFired one; that one, the usual, is built
--          here from the timer id "<execution id>:..." exactly as codec.work_item would
--          (codec.timer_item checked it needs no escaping)
-- KEYS[3]  the lane's ready stream
-- ARGV[1]  now (ms since the epoch)
-- ARGV[2]  limit: the most timers to promote in this call
-- Returns {promoted, next due ms or NO_TIMER when no timer is left, then each promoted
-- timer's lateness: now - its due, ms} (the timer lateness histogram).

local NO_TIMER = -1

local timers, timer_events, ready = KEYS[1], KEYS[2], KEYS[3]
local now, limit = ARGV[1], tonumber(ARGV[2])
local now_ms = tonumber(now)

local due = redis.call('ZRANGEBYSCORE', timers, '-inf', now, 'WITHSCORES', 'LIMIT', 0, limit)
local reply = {#due / 2, NO_TIMER}
for i = 1, #due, 2 do
  local timer = due[i]
  reply[#reply + 1] = now_ms - tonumber(due[i + 1])
  local message = redis.call('HGET', timer_events, timer)
  if message then
    redis.call('HDEL', timer_events, timer)
  else
    message = '{"x":"' .. string.match(timer, '^[^:]+') .. '","e":{"type":"TimerFired","timer":"' ..
              timer .. '"}}'
  end
  redis.call('XADD', ready, '*', 'm', message)
  redis.call('ZREM', timers, timer)
end
local nxt = redis.call('ZRANGE', timers, 0, 0, 'WITHSCORES')
if nxt[2] then
  reply[2] = tonumber(nxt[2])
end
return reply
