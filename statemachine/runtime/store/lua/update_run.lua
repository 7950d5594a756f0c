-- update_run.lua: UpdateMapRun, live: a Map Run's settings, and its children group's policy.
--
-- KEYS[1]  the parent's queue's ready stream (keys.Lane; the Started items of children the raised limit starts)
-- KEYS[2]  sm:T:mr:<owner>           the Map Runs of the owner execution (fields <run>:<name>)
-- KEYS[3]  sm:T:g:<parent>:<group>   the children group's counters (gone once it ended)
-- KEYS[4]  sm:T:gx:<parent>:<group>  the group's running children
-- ARGV[1]  run: the fields' prefix in KEYS[2]
-- ARGV[2..4] max concurrency, tolerated count, tolerated percentage ("" each: unchanged)
-- ARGV[5]  the group limit for a max concurrency of 0 (the runtime's children in flight)
-- ARGV[6..7] started1, started2: the pieces of a child's Started item (as commit.lua's CHILD)
-- Returns UPDATED, NO_RUN when the owner has no such Map Run, or ENDED when the run has
-- ended (AWS updates in-progress Map Runs only: nothing is changed).  A raised limit starts the
-- next children at once; tolerances apply from the next child's end (commit.lua reads
-- tc/tp there).

local UPDATED = 1
local NO_RUN = 0
local ENDED = 2

local ready, runs, group, running = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local run, mc, tc, tp = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local unbounded, started1, started2 = tonumber(ARGV[5]), ARGV[6], ARGV[7]

local found = redis.call('HMGET', runs, run .. ':arn', run .. ':status')
if not found[1] then
  return {NO_RUN}
end
if found[2] and found[2] ~= 'RUNNING' then
  return {ENDED}
end
if mc ~= '' then redis.call('HSET', runs, run .. ':mc', mc) end
if tc ~= '' then redis.call('HSET', runs, run .. ':tc', tc) end
if tp ~= '' then redis.call('HSET', runs, run .. ':tp', tp) end

local c = redis.call('HMGET', group, 'closed', 'next', 'total', 'running')
if c[1] ~= '0' then
  return {UPDATED}  -- the children are all done (or stopped): nothing more to start
end
if tc ~= '' then redis.call('HSET', group, 'tc', tc) end
if tp ~= '' then redis.call('HSET', group, 'tp', tp) end
if mc ~= '' then
  local limit = tonumber(mc)
  if limit <= 0 then limit = unbounded end
  local nxt, total, run_count = tonumber(c[2]), tonumber(c[3]), tonumber(c[4])
  while nxt < total and (limit <= 0 or run_count < limit) do
    redis.call('SADD', running, nxt)
    redis.call('XADD', ready, '*', 'm', started1 .. nxt .. started2 .. nxt .. ']}')
    nxt = nxt + 1
    run_count = run_count + 1
  end
  redis.call('HSET', group, 'limit', limit, 'next', nxt, 'running', run_count)
end
return {UPDATED}
