-- requeue.lua: put a dead letter's message back on the stream it came from.
--
-- The message goes back as a new entry (a new id, delivered afresh to the stream's group,
-- marked "requeued") and the dead letter is deleted, in one step: a requeue repeated after
-- a lost reply finds nothing and adds no second copy.
--
-- KEYS[1]  the shard's dead-letter stream
-- KEYS[2]  the ready stream of the dead letter's queue (its lane: keys.py)
-- KEYS[3]  the tasks stream of that queue
-- ARGV[1]  dead_id: the dead letter's entry id
-- Returns {stream, new entry id}, or NOT_FOUND ({}) when there is no such dead letter.

local NOT_FOUND = {}

local dead, ready, tasks = KEYS[1], KEYS[2], KEYS[3]
local dead_id = ARGV[1]

local found = redis.call('XRANGE', dead, dead_id, dead_id)
if #found == 0 then
  return NOT_FOUND
end
local fields = found[1][2]
local stream, message
for i = 1, #fields, 2 do
  if fields[i] == 'stream' then
    stream = fields[i + 1]
  elseif fields[i] == 'm' then
    message = fields[i + 1]
  end
end
if message == nil or (stream ~= ready and stream ~= tasks) then
  return redis.error_reply('requeue.lua: dead letter ' .. dead_id .. ' names no stream of its shard')
end
-- "requeued": a dispatch taken with it is checked against its execution before it is
-- performed, like one taken over from another worker (the execution may have moved on).
local id = redis.call('XADD', stream, '*', 'm', message, 'requeued', '1')
redis.call('XDEL', dead, dead_id)
return {stream, id}
