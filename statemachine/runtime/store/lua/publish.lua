-- publish.lua: publish a state machine's revision as its next version, unless one of its
-- versions already is that revision (PublishStateMachineVersion is idempotent).
--
-- Version numbers count up from 1 and are never given twice, even after a version is
-- deleted ("pv" keeps the last one given).
--
-- KEYS[1]  the state machine's catalog hash (sm:catalog:<name>, see keys.py): "type" is set
--          while the machine exists; "pv" the last version number given; p:<n> version n
-- ARGV[1]  revision: the revision to publish
-- ARGV[2]  entry: the new version as JSON ({"revision", "description"?, "creationDate"})
-- ARGV[3]  limit: how many versions a state machine may have
-- Returns {PUBLISHED, n}, {EXISTS, n} when version n already is this revision, {FULL} when
--         the machine has ``limit`` versions, {GONE} when the machine does not exist.

local PUBLISHED = 1
local EXISTS = 0
local FULL = -1
local GONE = -2

local catalog = KEYS[1]
local revision, entry, limit = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])

if redis.call('HEXISTS', catalog, 'type') == 0 then
  return {GONE}
end
local fields = redis.call('HGETALL', catalog)
local count = 0
for i = 1, #fields, 2 do
  local field = fields[i]
  if string.sub(field, 1, 2) == 'p:' then
    count = count + 1
    if cjson.decode(fields[i + 1]).revision == revision then
      return {EXISTS, tonumber(string.sub(field, 3))}
    end
  end
end
if count >= limit then
  return {FULL}
end
local version = redis.call('HINCRBY', catalog, 'pv', 1)
redis.call('HSET', catalog, 'p:' .. version, entry)
return {PUBLISHED, version}
