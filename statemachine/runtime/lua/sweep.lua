-- sweep.lua: drop the listing entries of finished executions whose records have expired.
--
-- A root's record, history and name entry expire retention_s after it finishes, but its
-- entries in the listing indexes (sorted by start time) would stay for ever.  This takes the
-- oldest entries of each final-status index, started before the cutoff, and removes those
-- whose record is gone from that index and from the state machines' indexes.  Entries whose
-- record still exists (finished less than retention_s ago) are left for a later sweep.
--
-- KEYS[1..4]  the shard's final-status indexes (SUCCEEDED, FAILED, TIMED_OUT, ABORTED)
-- KEYS[5..]   the shard's per-state-machine indexes (every state machine defined)
-- ARGV[1]     the cutoff: entries started before it (ms) are looked at
-- ARGV[2]     the most entries looked at per status index
-- ARGV[3]     the record key prefix of the shard ("sm:{sN}:x:")
-- Returns the number of executions dropped from the indexes.

local dropped = 0
for s = 1, 4 do
  local old = redis.call('ZRANGEBYSCORE', KEYS[s], '-inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
  for _, id in ipairs(old) do
    if redis.call('EXISTS', ARGV[3] .. id) == 0 then
      redis.call('ZREM', KEYS[s], id)
      for m = 5, #KEYS do
        redis.call('ZREM', KEYS[m], id)
      end
      dropped = dropped + 1
    end
  end
end
return dropped
