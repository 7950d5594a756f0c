-- hand_over.lua: a performed task's result moves from its dispatch to the ready stream.
--
-- The dispatch (an entry of the shard's tasks stream) is acknowledged
-- and deleted, and the result is added to the ready stream as a work item, atomically:
-- from then on a failure to apply it is retried (and dead-lettered) there, and no later
-- delivery performs the task again.
--
-- KEYS[1]  the ready stream of the execution's queue (its lane: keys.py)
-- KEYS[2]  the tasks stream the dispatch is on
-- ARGV[1]  message: the work item carrying the result (codec.handed_over)
-- ARGV[2]  entry: the dispatch's entry id on the tasks stream
-- ARGV[3]  group: the tasks stream's consumer group
-- Returns nothing.

local ready, tasks = KEYS[1], KEYS[2]
local message, entry, group = ARGV[1], ARGV[2], ARGV[3]

redis.call('XADD', ready, '*', 'm', message)
redis.call('XACK', tasks, group, entry)
redis.call('XDEL', tasks, entry)
