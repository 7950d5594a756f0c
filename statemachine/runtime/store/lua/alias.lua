-- alias.lua: create or update an alias of a state machine, checking that every version it
-- routes to exists (so no alias ever routes to a deleted version: unpublish.lua checks the
-- other way).
--
-- KEYS[1]  the state machine's catalog hash (sm:catalog:<name>, see keys.py): "type" is set
--          while the machine exists; p:<n> version n; a:<alias> an alias ({"name",
--          "description"?, "routing": [{"version", "weight"}], "creationDate", "updateDate"})
-- ARGV[1]  mode: "create" or "update"
-- ARGV[2]  alias: the alias name
-- ARGV[3]  entry: create: the whole alias as JSON; update: the fields to change (JSON)
-- ARGV[4]  limit: how many aliases a state machine may have
-- Returns {SAVED, alias JSON}; {TAKEN, alias JSON} when creating an alias that exists
--         (nothing written: the caller compares, as CreateStateMachineAlias is idempotent);
--         {ABSENT} when updating an alias that does not exist; {NO_VERSION, n} when version
--         n does not exist; {FULL} when the machine has ``limit`` aliases; {GONE} when the
--         machine does not exist.

local SAVED = 1
local TAKEN = 0
local ABSENT = -1
local NO_VERSION = -2
local FULL = -3
local GONE = -4

local catalog = KEYS[1]
local mode, alias, entry, limit = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])

if redis.call('HEXISTS', catalog, 'type') == 0 then
  return {GONE}
end
local field = 'a:' .. alias
local old = redis.call('HGET', catalog, field)
local new = cjson.decode(entry)
if mode == 'create' then
  if old then
    return {TAKEN, old}
  end
  local count = 0
  for _, name in ipairs(redis.call('HKEYS', catalog)) do
    if string.sub(name, 1, 2) == 'a:' then
      count = count + 1
    end
  end
  if count >= limit then
    return {FULL}
  end
else
  if not old then
    return {ABSENT}
  end
  local merged = cjson.decode(old)
  for key, value in pairs(new) do
    merged[key] = value
  end
  new = merged
end
for _, route in ipairs(new.routing) do
  if redis.call('HEXISTS', catalog, 'p:' .. route.version) == 0 then
    return {NO_VERSION, route.version}
  end
end
local saved = cjson.encode(new)
redis.call('HSET', catalog, field, saved)
return {SAVED, saved}
