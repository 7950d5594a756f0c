-- redrive.lua: re-open a FAILED, TIMED_OUT or ABORTED root execution (RedriveExecution).
--
-- The caller loaded the record and found it redrivable (interpreter/redrive.py); this script
-- applies that verdict only if the record is still the one it read (its rev) and still ends
-- in a status a redrive re-opens, within the redrive window.  Then, in one step: the record's
-- status field is RUNNING again (so callbacks, stops and the commit's HIST see a running
-- execution), it is listed under RUNNING instead of its final status, the record, history
-- and name entry no longer expire, and the Redriven work item is enqueued: the worker that
-- takes it resumes the execution (advance()) and writes the record.  The record hash's
-- ``redrive`` field holds the last redrive asked for (``{"count","date","token"}``): what a
-- reader shows until the worker has taken it, and what a repeated request (same client
-- token) is answered with.
--
-- KEYS[1]  the record hash
-- KEYS[2]  the root's history list
-- KEYS[3]  the name index entry (an unnamed execution has none: nothing to persist)
-- KEYS[4]  the ready stream of the execution's queue (its lane: keys.py)
-- KEYS[5]  index zset: status RUNNING
-- KEYS[6]  index zset: the record's current (final) status
-- ARGV[1]  rev: the record version the caller read
-- ARGV[2]  status: the final status the caller read (FAILED | TIMED_OUT | ABORTED; "":
--          only a repeated request is answered)
-- ARGV[3]  item: the Redriven work item (codec.work_item)
-- ARGV[4]  pending: the record's ``redrive`` field to write (JSON)
-- ARGV[5]  token: the request's client token ("" none)
-- ARGV[6]  start: the execution's start (ms), its score in the RUNNING index
-- ARGV[7]  earliest: the earliest end (ms) a redrivable execution may have (now - window)
-- ARGV[8]  execution_id: its member in the index zsets
-- Returns {REDRIVEN}, {REPEATED, pending} when the last redrive carried this client token,
-- {NO_RECORD} (expired or never was), {NOT_REDRIVABLE, status} when its status is not
-- ARGV[2] (it runs again, or ended otherwise), {CHANGED} when its rev moved on (read it
-- again), {WINDOW_PASSED} when it ended before ARGV[7].

local REDRIVEN = 1
local REPEATED = 2
local NO_RECORD = 0
local NOT_REDRIVABLE = -1
local CHANGED = -2
local WINDOW_PASSED = -3

local record, history, name_entry, ready = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local running, final = KEYS[5], KEYS[6]
local rev, status, item, pending, token = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local start, earliest, execution_id = ARGV[6], tonumber(ARGV[7]), ARGV[8]

local found = redis.call('HMGET', record, 'r', 'rev', 'status', 'redrive')
if not found[1] then
  return {NO_RECORD}
end
if token ~= '' and found[4] and cjson.decode(found[4]).token == token then
  return {REPEATED, found[4]}
end
if found[3] ~= status or status == 'RUNNING' or status == 'SUCCEEDED' then
  return {NOT_REDRIVABLE, found[3]}
end
if found[2] ~= rev then
  return {CHANGED}
end
local stop = cjson.decode(found[1]).stop
if type(stop) ~= 'number' or stop < earliest then
  return {WINDOW_PASSED}
end
redis.call('HSET', record, 'status', 'RUNNING', 'redrive', pending)
redis.call('PERSIST', record)
redis.call('PERSIST', history)
redis.call('PERSIST', name_entry)
redis.call('ZREM', final, execution_id)
redis.call('ZADD', running, start, execution_id)
redis.call('XADD', ready, '*', 'm', item)
return {REDRIVEN}
