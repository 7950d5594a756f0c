-- start.lua: create an execution of a state machine's latest version (or of a pinned
-- revision), idempotent by name.
--
-- One round trip per start: the latest version is read from the shard's own copy of every
-- machine's latest version (KEYS[6], raised by every define on every shard), so the
-- script never touches a key of another hash slot.
--
-- KEYS[1]  the name index hash (sm:T:n:<machine>:<name>); an unnamed execution has none:
--          its name is its id, random, so nothing can start twice under it
-- KEYS[2]  the new execution's record hash
-- KEYS[3]  the ready stream of the execution's queue (its lane: keys.py)
-- KEYS[4]  index zset: this state machine
-- KEYS[5]  index zset: status RUNNING (listing them all merges the status indexes)
-- KEYS[6]  the shard's latest-version hash (sm:T:mv: machine name -> version)
-- KEYS[7]  the record an unnamed execution would have if its id were this name (checked
--          when mode is "check": a name may not be taken by a named start either)
-- ARGV[1]  execution_id
-- ARGV[2]  input_hash
-- ARGV[3]  record: the record (a JSON object) without its "machine_version" field
-- ARGV[4]  started: the Started work item (codec.work_item)
-- ARGV[5]  now: start time (ms)
-- ARGV[6]  machine: the state machine's name
-- ARGV[7]  known: "" or a latest version the caller read from sm:machine:<name>: the
--          shard's copy is raised to it first (copies only ever grow, like versions)
-- ARGV[8]  mode: "unnamed" (no name entry), "check" (named; see KEYS[7]) or "" (named)
-- ARGV[9]  pinned: "" (run the latest version) or the revision to run (a start through a
--          published version or an alias: the caller read it from the catalog)
-- ARGV[10] queue: the execution's queue, "" for the default one (the record's q field)
-- Returns {CREATED, id, version}, {EXISTS, id} when the name exists with this input,
--         {OTHER_INPUT, id} when it exists with another input, {NO_VERSION} when this
--         shard knows no version of the machine (the caller reads the global latest and
--         calls again with known), {NAME_TAKEN} when the name is the id of an unnamed
--         execution of the machine.

local CREATED = 1
local EXISTS = 0
local OTHER_INPUT = -1
local NO_VERSION = -2
local NAME_TAKEN = -3

local name_entry, record_key, ready = KEYS[1], KEYS[2], KEYS[3]
local by_machine, running, versions, same_name = KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local execution_id, input_hash, record, started = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local now, machine, known, mode = ARGV[5], ARGV[6], tonumber(ARGV[7]), ARGV[8]
local pinned = tonumber(ARGV[9])
local queue = ARGV[10] or ''

local named = mode ~= 'unnamed'
if named then
  local existing = redis.call('HMGET', name_entry, 'id', 'ih')
  if existing[1] then
    if existing[2] == input_hash then
      return {EXISTS, existing[1]}
    end
    return {OTHER_INPUT, existing[1]}
  end
  if mode == 'check' then
    local other = redis.call('HGET', same_name, 'r')
    if other and cjson.decode(other).machine == machine then
      return {NAME_TAKEN}
    end
  end
end
local version = pinned
if not version then
  -- a deleted machine's copy is a tombstone (negative; see raise_version.lua)
  version = tonumber(redis.call('HGET', versions, machine) or '0')
  if known and known > math.abs(version) then
    version = known
    redis.call('HSET', versions, machine, known)
  end
end
if version < 1 then
  return {NO_VERSION}
end
local stored = '{"machine_version":' .. version .. ',' .. string.sub(record, 2)
if named then
  redis.call('HSET', name_entry, 'id', execution_id, 'ih', input_hash)
end
redis.call('HSET', record_key, 'r', stored, 'rev', '0', 'status', 'RUNNING', 'token', '')
if queue ~= '' then
  redis.call('HSET', record_key, 'q', queue)
end
redis.call('XADD', ready, '*', 'm', started)
redis.call('ZADD', by_machine, now, execution_id)
redis.call('ZADD', running, now, execution_id)
return {CREATED, execution_id, version}
