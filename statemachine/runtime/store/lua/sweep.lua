-- sweep.lua: drop the listing entries of finished executions whose records have expired.
--
-- A root's record, history and name entry expire retention_s after it finishes, but its
-- entries in the listing indexes (sorted by start time) would stay for ever.  Each index is
-- swept on its own: a page of its entries started before the cutoff, from where the last
-- sweep of that index stopped, and every entry whose record is gone is removed.  Entries
-- whose record still exists (running, or finished less than retention_s ago) stay; once a
-- sweep reaches the cutoff, the next one starts over from the oldest.  So the work per call
-- is bounded, and an index full of long-running executions does not hold the sweep up.
--
-- KEYS[1]     the shard's sweep cursors (hash: index key -> score the next page starts after)
-- KEYS[2..]   the indexes to sweep: final-status indexes and per-state-machine indexes
-- ARGV[1]     cutoff: entries started before it (ms) are looked at
-- ARGV[2]     limit: the most entries looked at per index
-- ARGV[3]     prefix: the record key prefix of the shard ("sm:{sN}:x:")
-- Returns the number of index entries removed.

local cursors = KEYS[1]
local cutoff, limit, prefix = '(' .. ARGV[1], tonumber(ARGV[2]), ARGV[3]

local removed = 0
for k = 2, #KEYS do
  local index = KEYS[k]
  local from = redis.call('HGET', cursors, index)
  local page = redis.call('ZRANGEBYSCORE', index, from and ('(' .. from) or '-inf', cutoff,
                          'WITHSCORES', 'LIMIT', 0, limit)
  for i = 1, #page, 2 do
    if redis.call('EXISTS', prefix .. page[i]) == 0 then
      redis.call('ZREM', index, page[i])
      removed = removed + 1
    end
  end
  if #page / 2 < limit then
    redis.call('HDEL', cursors, index)
  else
    redis.call('HSET', cursors, index, page[#page])
  end
end
return removed
