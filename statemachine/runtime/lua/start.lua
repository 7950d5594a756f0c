-- start.lua: create an execution of a state machine's latest version, idempotent by name.
--
-- One round trip per start: the latest version is read from the shard's own copy of every
-- machine's latest version (KEYS[6], written by Service.define on every shard), so the
-- script never touches a key of another hash slot.
--
-- KEYS[1]  the name index hash (sm:T:n:<machine>:<name>); an unnamed execution has none:
--          its name is its id, random, so nothing can start twice under it
-- KEYS[2]  the new execution's record hash
-- KEYS[3]  the shard's ready stream
-- KEYS[4]  index zset: this state machine
-- KEYS[5]  index zset: status RUNNING (listing them all merges the status indexes)
-- KEYS[6]  the shard's latest-version hash (sm:T:mv: machine name -> version)
-- KEYS[7]  the record an unnamed execution would have if its id were this name (checked
--          when ARGV[8] is "check": a name may not be taken by a named start either)
-- ARGV[1]  execution id
-- ARGV[2]  input hash
-- ARGV[3]  the record (a JSON object) without its "machine_version" field
-- ARGV[4]  the Started work item message
-- ARGV[5]  start time (ms)
-- ARGV[6]  the state machine's name
-- ARGV[7]  "" or a latest version the caller read from sm:machine:<name>: the shard's copy
--          is raised to it first (copies only ever grow, like versions)
-- ARGV[8]  "unnamed" (no name entry), "check" (named; see KEYS[7]) or "" (named)
-- Returns {1, id, version} when created, {0, id} when the name exists with this input,
--         {-1, id} when it exists with another input, {-2} when this shard knows no version
--         of the machine (the caller reads the global latest and calls again with ARGV[7]),
--         {-3} when the name is the id of an unnamed execution of the machine.

local named = ARGV[8] ~= 'unnamed'
if named then
  local existing = redis.call('HMGET', KEYS[1], 'id', 'ih')
  if existing[1] then
    if existing[2] == ARGV[2] then
      return {0, existing[1]}
    end
    return {-1, existing[1]}
  end
  if ARGV[8] == 'check' then
    local other = redis.call('HGET', KEYS[7], 'r')
    if other and cjson.decode(other).machine == ARGV[6] then
      return {-3}
    end
  end
end
local version = tonumber(redis.call('HGET', KEYS[6], ARGV[6]) or '0')
local known = tonumber(ARGV[7])
if known and known > version then
  version = known
  redis.call('HSET', KEYS[6], ARGV[6], known)
end
if version < 1 then
  return {-2}
end
local record = '{"machine_version":' .. version .. ',' .. string.sub(ARGV[3], 2)
if named then
  redis.call('HSET', KEYS[1], 'id', ARGV[1], 'ih', ARGV[2])
end
redis.call('HSET', KEYS[2], 'r', record, 'rev', '0', 'status', 'RUNNING', 'token', '')
redis.call('XADD', KEYS[3], '*', 'm', ARGV[4])
redis.call('ZADD', KEYS[4], ARGV[5], ARGV[1])
redis.call('ZADD', KEYS[5], ARGV[5], ARGV[1])
return {1, ARGV[1], version}
