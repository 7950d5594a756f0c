-- commit.lua: apply one transition atomically, guarded by compare-and-set.
--
-- A worker builds the whole effect of one advance() as a list of operations (a Plan,
-- statemachine/runtime/store/plan.py); this script checks the guards (the record's rev, a
-- Map group being open), and only if all hold applies every operation and acknowledges
-- the work item.  So a transition happens exactly once however often its work item is
-- delivered: a second delivery finds the rev moved on and is refused.
--
-- KEYS[1]      the ready stream of the execution's queue (its lane, keys.Lane: the work item
--              is XACKed/XDELed there, group "workers"; CHILD and EXTEND enqueue there too)
-- KEYS[2..]    every other key the guards and operations name, by index
-- ARGV[1]      ack_id: the work item's stream id to acknowledge ("" = none)
-- ARGV[2]      guard_count G; then G triples:
--                key index, hash field, expected value ("" = the field must be missing)
-- then ops until the end of ARGV, each: name, key index, n, then n arguments
--   HSET k f v ...    HDEL k f ...     ZADD k score member   ZREM k member ...
--   SADD k m ...      SREM k m ...     XADD k field value ... (id "*")
--   RPUSH k v ...     EXPIRE k seconds DEL k
--   HINCRBY k f n     SET k v
--   HCOPY k from to   field ``to`` of hash k set to field ``from``'s value (0 if missing)
--   HIST k c e1 e2 ...  append events to the history list k (event id = list position, so
--                       ids are 1..n without gaps); skipped when hash KEYS[c]'s status is
--                       not RUNNING (a stopped root's late children write no history); c = 0:
--                       no check (a Map Run child's first commit: its record is being made)
--   TIMER k e id due message
--                       ZADD timer id at due to zset k, its work item to hash KEYS[e] (none
--                       when message is "": promote.lua builds the plain TimerFired); when
--                       it is now the zset's earliest timer, PUBLISH due on channel
--                       "sm:timers" so sleeping schedulers wake up for it
--   ACK k group id     XACK and XDEL entry id of stream k (a task dispatch whose result
--                       this transition applies)
--   TAKE k group consumer count
--                       XREADGROUP up to count new entries of stream k for consumer (the
--                       task dispatch this transition just added, handed straight to the
--                       committing worker instead of waiting for its stream reader)
--   CHILD g r x index outcome status error cause parent group started1 started2 stop
--                       a Map/Parallel child ended: the policy of interpreter/children.py
--                       applied to the counters in group hash g (see child_finished below)
--   EXTEND g x i add open low parent group started1 started2
--                       a Distributed Map's next page: add children to open group g (their
--                       inputs, in hash i, were written by an HSET before); see extend below
-- Returns {APPLIED} ({APPLIED, entries} after TAKE, entries as XREADGROUP gives them for
-- stream k), {REFUSED, i} when guard i failed (nothing written, item not acked).

local APPLIED = 1
local REFUSED = 0
local TIMERS_CHANNEL = 'sm:timers'

local argv = ARGV
local ready = KEYS[1]

-- interpreter/children.py _exceeded: is the failure count past the tolerated threshold?
local function exceeded(kind, failed, total, tc, tp)
  if failed == 0 then return false end
  if kind ~= 'map' or (tc == nil and tp == nil) then return true end
  if tc ~= nil and failed > tc then return true end
  return tp ~= nil and failed * 100.0 / total > tp
end

-- interpreter/children.py child_finished, on the group hash's counter fields.  A closed
-- (or dropped) group ignores the outcome.  Otherwise the outcome is stored by index, the
-- child leaves the running set, and then either the group fails (StopRequested to every
-- running sibling, ChildrenFinished{failed} to the parent), or it is done
-- (ChildrenFinished{total}), or the next children are started: their index joins the
-- running set and a Started work item (started[1] .. i .. started[2] .. i .. ']}') is
-- enqueued; the worker taking it creates the child's record from its stored input.
-- An open group (a Distributed Map still reading pages: field open = 1) is not done when
-- every child so far has ended; when fewer than `low` children are left to start, a
-- PageWanted goes to the parent once (asked = 1) and its next page comes as EXTEND.
local function page_wanted(g, nxt, total, open, asked, low, parent, group)
  if open == 1 and asked == 0 and total - nxt < low then
    redis.call('XADD', ready, '*', 'm', '{"x":' .. parent .. ',"e":{"type":"PageWanted","group":' ..
               group .. '}}')
    redis.call('HSET', g, 'asked', 1)
  end
end

local function child_finished(g, results, running, index, outcome, status, err, cause,
                              parent, group, started1, started2, stop)
  local c = redis.call('HMGET', g, 'closed', 'done', 'running', 'failed', 'next', 'total',
                       'limit', 'kind', 'tc', 'tp', 'open', 'asked', 'low')
  if c[1] ~= '0' then return end
  local done, run, failed = tonumber(c[2]) + 1, tonumber(c[3]) - 1, tonumber(c[4])
  local nxt, total, limit, kind = tonumber(c[5]), tonumber(c[6]), tonumber(c[7]), c[8]
  local tc, tp = tonumber(c[9]), tonumber(c[10])
  local open, asked, low = tonumber(c[11]) or 0, tonumber(c[12]) or 0, tonumber(c[13]) or 0
  redis.call('HSET', results, index, outcome)
  redis.call('SREM', running, index)
  -- verdict: the end of the parent's ChildrenFinished event (codec.children_finished)
  local verdict = nil
  local group_failed = false
  if status ~= '"SUCCEEDED"' then
    failed = failed + 1
    if exceeded(kind, failed, total, tc, tp) then
      local tolerant = kind == 'map' and (tc ~= nil or tp ~= nil)
      group_failed = true
      verdict = ',"failed":{"index":' .. index .. ',"status":' .. status .. ',"error":' .. err ..
                ',"cause":' .. cause .. ',"threshold":' .. (tolerant and 'true' or 'false') .. '}'
    end
  end
  if verdict == nil and done >= total and open == 0 then
    verdict = ',"total":' .. total
  end
  if verdict == nil then
    while nxt < total and (limit <= 0 or run < limit) do
      redis.call('SADD', running, nxt)
      redis.call('XADD', ready, '*', 'm', started1 .. nxt .. started2 .. nxt .. ']}')
      nxt = nxt + 1
      run = run + 1
    end
  end
  redis.call('HSET', g, 'done', done, 'running', run, 'failed', failed, 'next', nxt,
             'closed', verdict == nil and 0 or 1)
  if verdict == nil then
    page_wanted(g, nxt, total, open, asked, low, parent, group)
    return
  end
  if group_failed then
    local left = redis.call('SMEMBERS', running)
    table.sort(left, function(a, b) return tonumber(a) < tonumber(b) end)
    for _, i in ipairs(left) do
      redis.call('XADD', ready, '*', 'm', started1 .. i .. stop)
    end
  end
  redis.call('XADD', ready, '*', 'm', '{"x":' .. parent .. ',"e":{"type":"ChildrenFinished","group":' ..
             group .. verdict .. '}}')
end

-- A Distributed Map's next page: `add` more children (inputs already stored under the next
-- indexes), `open` 0 when it was the last page.  The children the limit allows start; the
-- group is done at once when every child has ended and no page is to come.  A group closed
-- (failed) or dropped (stopped) meanwhile takes none: the page's stored inputs are deleted.
local function extend(g, running, inputs, add, open, low, parent, group, started1, started2)
  local c = redis.call('HMGET', g, 'closed', 'done', 'running', 'next', 'total', 'limit')
  if c[1] ~= '0' then
    redis.call('DEL', inputs)
    return
  end
  local done, run, nxt = tonumber(c[2]), tonumber(c[3]), tonumber(c[4])
  local total, limit = tonumber(c[5]) + tonumber(add), tonumber(c[6])
  open, low = tonumber(open), tonumber(low)
  while nxt < total and (limit <= 0 or run < limit) do
    redis.call('SADD', running, nxt)
    redis.call('XADD', ready, '*', 'm', started1 .. nxt .. started2 .. nxt .. ']}')
    nxt = nxt + 1
    run = run + 1
  end
  local closed = (open == 0 and done >= total) and 1 or 0
  redis.call('HSET', g, 'total', total, 'next', nxt, 'running', run, 'open', open,
             'asked', 0, 'low', low, 'closed', closed)
  if closed == 1 then
    redis.call('XADD', ready, '*', 'm', '{"x":' .. parent .. ',"e":{"type":"ChildrenFinished","group":' ..
               group .. ',"total":' .. total .. '}}')
    return
  end
  page_wanted(g, nxt, total, open, 0, low, parent, group)
end

-- redis.call(op, key, argv[from..to]) in pieces of at most 1,000 arguments: Lua's unpack
-- refuses a few thousand values at once (a long run-through writes up to 25,000 events).
-- The pieces are even, so HSET/ZADD pairs stay whole.
local function call_chunked(op, key, from, to)
  if from > to then
    redis.call(op, key)  -- DEL k
    return
  end
  while from <= to do
    local upto = math.min(from + 999, to)
    redis.call(op, key, unpack(argv, from, upto))
    from = upto + 1
  end
end

local ack_id = argv[1]
local guard_count = tonumber(argv[2])
local i = 3
for g = 1, guard_count do
  local current = redis.call('HGET', KEYS[tonumber(argv[i])], argv[i + 1])
  if current == false then current = '' end
  if current ~= argv[i + 2] then
    return {REFUSED, g}
  end
  i = i + 3
end

local simple = {HSET = true, HDEL = true, ZADD = true, ZREM = true, SADD = true, SREM = true,
                RPUSH = true, EXPIRE = true, DEL = true, HINCRBY = true, SET = true}
local n = #argv
local taken = false
while i <= n do
  local op = argv[i]
  local key = KEYS[tonumber(argv[i + 1])]
  local count = tonumber(argv[i + 2])
  local first = i + 3
  local last = i + 2 + count
  if op == 'HIST' then
    local c = tonumber(argv[first])
    if c == 0 or redis.call('HGET', KEYS[c], 'status') == 'RUNNING' then
      call_chunked('RPUSH', key, first + 1, last)
    end
  elseif op == 'HCOPY' then
    redis.call('HSET', key, argv[last], redis.call('HGET', key, argv[first]) or 0)
  elseif op == 'XADD' then
    redis.call('XADD', key, '*', unpack(argv, first, last))
  elseif op == 'TIMER' then
    local due = argv[first + 2]
    redis.call('ZADD', key, due, argv[first + 1])
    if argv[first + 3] ~= '' then
      redis.call('HSET', KEYS[tonumber(argv[first])], argv[first + 1], argv[first + 3])
    end
    local earliest = redis.call('ZRANGE', key, 0, 0)
    if earliest[1] == argv[first + 1] then
      redis.call('PUBLISH', TIMERS_CHANNEL, due)
    end
  elseif op == 'ACK' then
    redis.call('XACK', key, argv[first], argv[first + 1])
    redis.call('XDEL', key, argv[first + 1])
  elseif op == 'TAKE' then
    taken = redis.call('XREADGROUP', 'GROUP', argv[first], argv[first + 1], 'COUNT',
                       argv[first + 2], 'STREAMS', key, '>')
  elseif op == 'CHILD' then
    child_finished(key, KEYS[tonumber(argv[first])], KEYS[tonumber(argv[first + 1])],
                   unpack(argv, first + 2, last))
  elseif op == 'EXTEND' then
    extend(key, KEYS[tonumber(argv[first])], KEYS[tonumber(argv[first + 1])],
           unpack(argv, first + 2, last))
  elseif simple[op] then
    call_chunked(op, key, first, last)
  else
    return redis.error_reply('commit.lua: unknown op ' .. tostring(op))
  end
  i = last + 1
end

if ack_id ~= '' then
  redis.call('XACK', ready, 'workers', ack_id)
  redis.call('XDEL', ready, ack_id)
end
if taken then
  return {APPLIED, taken[1][2]}
end
return {APPLIED}
