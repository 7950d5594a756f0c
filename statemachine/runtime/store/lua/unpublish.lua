-- unpublish.lua: delete a published version of a state machine, unless an alias routes
-- starts to it (DeleteStateMachineVersion's ConflictException).
--
-- KEYS[1]  the state machine's catalog hash (sm:catalog:<name>, see keys.py): p:<n> version
--          n; a:<alias> an alias ({"routing": [{"version", "weight"}], ...})
-- ARGV[1]  version: the version number to delete
-- Returns {DELETED}, {ABSENT} when there is no such version, {ROUTED, alias} when the
--         alias routes to it (nothing deleted).

local DELETED = 1
local ABSENT = 0
local ROUTED = -1

local catalog = KEYS[1]
local version = tonumber(ARGV[1])

if redis.call('HEXISTS', catalog, 'p:' .. version) == 0 then
  return {ABSENT}
end
local fields = redis.call('HGETALL', catalog)
for i = 1, #fields, 2 do
  local field = fields[i]
  if string.sub(field, 1, 2) == 'a:' then
    for _, route in ipairs(cjson.decode(fields[i + 1]).routing) do
      if route.version == version then
        return {ROUTED, string.sub(field, 3)}
      end
    end
  end
end
redis.call('HDEL', catalog, 'p:' .. version)
return {DELETED}
