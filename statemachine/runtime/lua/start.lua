-- start.lua: create an execution, idempotent by name.
--
-- KEYS[1]  the name index hash (sm:T:n:<machine>:<name>)
-- KEYS[2]  the new execution's record hash
-- KEYS[3]  the shard's ready stream
-- KEYS[4]  index zset: all roots
-- KEYS[5]  index zset: this state machine
-- KEYS[6]  index zset: status RUNNING
-- ARGV[1]  execution id
-- ARGV[2]  input hash
-- ARGV[3]  the record (JSON)
-- ARGV[4]  the Started work item message
-- ARGV[5]  start time (ms)
-- Returns {1, id} when created, {0, id} when the name exists with this input,
--         {-1, id} when it exists with another input.

local existing = redis.call('HMGET', KEYS[1], 'id', 'ih')
if existing[1] then
  if existing[2] == ARGV[2] then
    return {0, existing[1]}
  end
  return {-1, existing[1]}
end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'ih', ARGV[2])
redis.call('HSET', KEYS[2], 'r', ARGV[3], 'rev', '0', 'status', 'RUNNING', 'token', '', 'hseq', '0')
redis.call('XADD', KEYS[3], '*', 'm', ARGV[4])
redis.call('ZADD', KEYS[4], ARGV[5], ARGV[1])
redis.call('ZADD', KEYS[5], ARGV[5], ARGV[1])
redis.call('ZADD', KEYS[6], ARGV[5], ARGV[1])
return {1, ARGV[1]}
