-- commit.lua: apply one transition atomically, guarded by compare-and-set.
--
-- A worker builds the whole effect of one advance() as a list of operations; this script
-- checks the guards (the record's rev, a Map group's counter version), and only if all
-- hold applies every operation and acknowledges the work item.  So a transition happens
-- exactly once however often its work item is delivered: a second delivery finds the rev
-- moved on and is refused.
--
-- KEYS[1]      the shard's ready stream (the work item is XACKed/XDELed there, group "workers")
-- KEYS[2..]    every other key the guards and operations name, by index
-- ARGV[1]      the work item's stream id to acknowledge ("" = none)
-- ARGV[2]      G, the number of guards; then G triples:
--                key index, hash field, expected value ("" = the field must be missing)
-- then ops until the end of ARGV, each: name, key index, n, then n arguments
--   HSET k f v ...    HDEL k f ...     ZADD k score member   ZREM k member ...
--   SADD k m ...      SREM k m ...     XADD k field value ... (id "*")
--   RPUSH k v ...     EXPIRE k seconds DEL k
--   HIST k c e1 e2 ...  append events to history stream k with ids taken from HINCRBY
--                       on hash KEYS[c] field "hseq"; skipped when KEYS[c]'s status is not
--                       RUNNING (a stopped root's late children write no history)
-- Returns {1} when applied, {0, i} when guard i failed (nothing written, item not acked).

local argv = ARGV
local guards = tonumber(argv[2])
local i = 3
for g = 1, guards do
  local current = redis.call('HGET', KEYS[tonumber(argv[i])], argv[i + 1])
  if current == false then current = '' end
  if current ~= argv[i + 2] then
    return {0, g}
  end
  i = i + 3
end

local simple = {HSET = true, HDEL = true, ZADD = true, ZREM = true, SADD = true, SREM = true,
                RPUSH = true, EXPIRE = true, DEL = true}
local n = #argv
while i <= n do
  local op = argv[i]
  local key = KEYS[tonumber(argv[i + 1])]
  local count = tonumber(argv[i + 2])
  local first = i + 3
  local last = i + 2 + count
  if op == 'HIST' then
    local counter = KEYS[tonumber(argv[first])]
    if redis.call('HGET', counter, 'status') == 'RUNNING' then
      local events = last - first
      local top = redis.call('HINCRBY', counter, 'hseq', events)
      local id = top - events
      for j = first + 1, last do
        id = id + 1
        redis.call('XADD', key, id .. '-0', 'e', argv[j])
      end
    end
  elseif op == 'XADD' then
    redis.call('XADD', key, '*', unpack(argv, first, last))
  elseif simple[op] then
    redis.call(op, key, unpack(argv, first, last))
  else
    return redis.error_reply('commit.lua: unknown op ' .. tostring(op))
  end
  i = last + 1
end

if argv[1] ~= '' then
  redis.call('XACK', KEYS[1], 'workers', argv[1])
  redis.call('XDEL', KEYS[1], argv[1])
end
return {1}
