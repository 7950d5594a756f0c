-- raise_version.lua: raise a state machine's version field unless it is already higher.
--
-- Defines may run concurrently (several API instances); versions only ever grow, so the
-- latest one wins whatever order the calls arrive in.  Used on sm:machine:<name> (field
-- "latest") and on every shard's copy sm:T:mv (field <name>) so start.lua reads the latest
-- version on its own shard.
--
-- A deleted machine's field holds a tombstone: minus a revision number reserved for it
-- (never a stored revision), so start.lua refuses it.  Fields are ordered by absolute
-- value: a define after the delete (a higher revision) raises the field again, and a stale
-- raise to an older revision cannot undo the tombstone.
--
-- KEYS[1]  the hash holding the version
-- ARGV[1]  field: the field holding it
-- ARGV[2]  version: the version to raise it to (negative: a tombstone, see above)
-- Returns RAISED, or KEPT when the field already held this version or a higher one.

local RAISED = 1
local KEPT = 0

local hash = KEYS[1]
local field, version = ARGV[1], tonumber(ARGV[2])

local old = tonumber(redis.call('HGET', hash, field) or '0')
if math.abs(old) < math.abs(version) then
  redis.call('HSET', hash, field, version)
  return RAISED
end
return KEPT
