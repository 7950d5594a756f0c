-- tag.lua: add or overwrite a resource's tags, unless it would then have too many.
--
-- KEYS[1]  the resource's tags hash (sm:tags:<kind>:<name>, see keys.py): key -> value
-- ARGV[1]  limit: how many tags a resource may have
-- ARGV[2]  key, value, key, value...: the tags
-- Returns {TAGGED, count}, or {TOO_MANY, count} (nothing written) with the count it would
-- have had.

local TAGGED = 1
local TOO_MANY = 0

local tags = KEYS[1]
local limit = tonumber(ARGV[1])
local given = {unpack(ARGV, 2)}

local count = redis.call('HLEN', tags)
for i = 1, #given, 2 do
  if redis.call('HEXISTS', tags, given[i]) == 0 then
    count = count + 1
  end
end
if count > limit then
  return {TOO_MANY, count}
end
if #given > 0 then
  redis.call('HSET', tags, unpack(given))
end
return {TAGGED, count}
