-- requeue.lua: put a dead letter's message back on the stream it came from.
--
-- The message goes back as a new entry (a new id, delivered afresh to the stream's group,
-- marked "requeued")
-- and the dead letter is deleted, in one step: a requeue repeated after a lost reply finds
-- nothing and adds no second copy.
--
-- KEYS[1]  the shard's dead-letter stream
-- KEYS[2]  the shard's ready stream
-- KEYS[3]  the shard's tasks stream
-- ARGV[1]  the dead letter's entry id
-- Returns {stream, new entry id}, or {} when there is no such dead letter.

local found = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #found == 0 then
  return {}
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
if message == nil or (stream ~= KEYS[2] and stream ~= KEYS[3]) then
  return redis.error_reply('requeue.lua: dead letter ' .. ARGV[1] .. ' names no stream of its shard')
end
-- "requeued": a dispatch taken with it is checked against its execution before it is
-- performed, like one taken over from another worker (the execution may have moved on).
local id = redis.call('XADD', stream, '*', 'm', message, 'requeued', '1')
redis.call('XDEL', KEYS[1], ARGV[1])
return {stream, id}
