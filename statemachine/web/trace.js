/*
 * What an execution's history says: every state entry with its attempts, its final outcome
 * (that of its last attempt) and the Map item it ran for, and the path taken through the
 * graph. Events of Map iterations and Parallel branches interleave: each entry belongs to a
 * thread (the top, an iteration, a branch), and an event that does not name its state goes to
 * the entry that waits for it (whose.js).
 */

import {placesOf, predecessors, statesOf} from "./definition.js";
import {CONTAINER_RESULT, TASK_RESULT, detailsOf, familyOf, scheduledWith} from "./events.js";
import {toMillis} from "./format.js";
import {settle} from "./settle.js";
import {inside, iteration, narrow, threadOf, within} from "./threads.js";
import {chooser} from "./whose.js";

const SCHEDULED = /^(Task|LambdaFunction|Activity)Scheduled$/;

export function traceHistory(events, definition, execution) {
  const states = definition ? statesOf(definition) : {};
  const places = definition ? placesOf(definition) : {};
  const preds = definition ? predecessors(definition) : {};
  const entries = [];
  let open = [];
  const edges = new Set();
  const lastSeen = {};
  const iterations = [];
  let cur = null;  // the entry the run being read is about
  let fresh = null;  // the thread the last MapIterationStarted began
  const start = events.length ? toMillis(events[0].timestamp) : toMillis(execution.startDate);

  const family = (e) => (e.type === "Map" || e.type === "Parallel" ? e.type : "Task");
  const {pick, retried} = chooser(events, states);
  const close = (entry, t, outcome) => {
    open = open.filter((e) => e !== entry);
    entry.end = t;
    entry.outcome = entry.attempt === "failed" ? "failed" : outcome;
  };
  events.forEach((event, k) => {
    const type = String(event.type || "");
    const prev = k > 0 ? String(events[k - 1].type || "") : "";
    const d = detailsOf(event) || {};
    const t = toMillis(event.timestamp);
    if (type.endsWith("StateEntered") && d.name !== undefined) {
      const name = String(d.name);
      const from = (preds[name] || []).filter((p) => lastSeen[p] !== undefined)
        .sort((a, b) => lastSeen[b] - lastSeen[a])[0];
      if (from !== undefined) edges.add(from + "\u0000" + name);
      else if (definition && name === definition.StartAt) edges.add("\u0001start\u0000" + name);
      lastSeen[name] = k;
      const thread = threadOf(name, prev, {cur, fresh, open, states, places});
      cur = {name, type: (states[name] || {}).Type || type.replace(/StateEntered$/, ""), start: t,
        end: null, outcome: "running", index: entries.length, thread, attempts: 0, attempt: null,
        exited: false, input: d.input};
      entries.push(cur);
      open.push(cur);
    } else if (type.endsWith("StateExited") && d.name !== undefined) {
      const name = String(d.name);
      const own = cur && open.includes(cur) && cur.name === name &&
        (TASK_RESULT.test(prev) || CONTAINER_RESULT.test(prev) || prev.endsWith("StateEntered"));
      const entry = own ? cur : pick(open.filter((e) => e.name === name), k);
      lastSeen[name] = k;
      if (entry) {
        close(entry, t, "succeeded");
        entry.exited = true;
        cur = entry;
      }
    } else if (SCHEDULED.test(type) || /^(Map|Parallel)StateStarted$/.test(type)) {
      const fam = familyOf(type);
      const own = cur && open.includes(cur) && family(cur) === fam && cur.attempts === 0 &&
        prev.endsWith("StateEntered");
      const failed = open.filter((e) => family(e) === fam && e.attempt === "failed");
      const entry = own ? cur : retried(open, failed, scheduledWith(d), k);
      if (entry) {
        if (own) entry.params = scheduledWith(d);
        entry.attempts += 1;
        entry.attempt = "pending";
        // the iterations or branches this attempt started (each starts once)
        entry.started = new Set();
        if (type === "MapStateStarted") Object.assign(entry, {group: String(event.id), length: d.length});
        cur = entry;
      }
    } else if (TASK_RESULT.test(type) || CONTAINER_RESULT.test(type)) {
      const fam = familyOf(type);
      // a result over the payload limits: TaskSucceeded, then TaskFailed for the same task
      const payload = TASK_RESULT.test(prev) && prev.endsWith("Succeeded") &&
        !type.endsWith("Succeeded") && cur && open.includes(cur);
      const waiting = open.filter((e) => family(e) === fam && e.attempt === "pending");
      const entry = payload ? cur : pick(fam === "Task" ? waiting :
        narrow(waiting, (e) => !open.some((o) => inside(o, e))), k, !type.endsWith("Succeeded"));
      if (entry) {
        entry.attempt = /Succeeded$/.test(type) ? "succeeded" : "failed";
        if (fam !== "Task" && entry.attempt === "failed") {
          for (const o of open.filter((x) => inside(x, entry))) close(o, t, "aborted");
        }
        cur = entry;
      }
    } else if (type === "MapRunStarted") {
      // a Distributed Map's iterations are named after its Map Run's event, not MapStateStarted
      if (cur && cur.type === "Map") cur.group = String(event.id);
    } else if (type === "MapIterationStarted") {
      // A nested Map's group is counted in its own record: only the top's is unique.
      const maps = open.filter((e) => e.type === "Map" && e.attempt === "pending" &&
        !e.started.has(d.index) && !(d.index >= e.length));
      const owner = narrow(maps, (e) => e.group === String(d.name))[0];
      if (owner) owner.started.add(d.index);
      fresh = iteration(owner, String(d.name), d.index);
      iterations.push(fresh);
    } else if (/^MapIteration(Succeeded|Failed|Aborted)$/.test(type)) {
      const ours = iterations.filter((i) => !i.ended && i.group === String(d.name) &&
        i.index === d.index);
      const thread = ours.find((i) => cur && within(cur.thread, i)) || ours[0];
      if (thread) {
        thread.ended = true;
        const outcome = type.endsWith("Succeeded") ? "succeeded" :
          type.endsWith("Failed") ? "failed" : "aborted";
        for (const o of open.filter((e) => within(e.thread, thread))) close(o, t, outcome);
      }
    } else if (/^Execution(Failed|TimedOut|Aborted)$/.test(type)) {
      // the end of a run (a redrive may start another): what it called off is aborted
      const aborted = type.endsWith("Aborted");
      for (const o of open.slice()) close(o, t, aborted || o.thread.parent ? "aborted" : "failed");
    }
  });
  return settle({entries, open, edges, start}, definition, execution);
}
