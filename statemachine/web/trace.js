/* What an execution's history says: its state entries, and the path it took through the graph. */

import {findState, isTerminal, predecessors, stateTypes} from "./definition.js";
import {toMillis} from "./format.js";
import {Status, TERMINAL} from "./statuses.js";

/** An event's details (its one ...EventDetails object), or null. */
export function detailsOf(event) {
  for (const [k, v] of Object.entries(event)) {
    if (k.endsWith("EventDetails") && v && typeof v === "object") return v;
  }
  return null;
}

/** History event types that report a failure (a state's, a task's or the execution's). */
export const FAILURE = /(Failed|TimedOut|Aborted)$/;

/**
 * Walk the history once: every state entry with its exit (or end), which states were
 * entered, which failed, which are still running, and which edges were followed.
 */
export function traceHistory(events, definition, execution) {
  const types = definition ? stateTypes(definition) : {};
  const preds = definition ? predecessors(definition) : {};
  const entries = [];
  const open = [];
  const states = {};
  const edges = new Set();
  const lastSeen = {};
  const start = events.length ? toMillis(events[0].timestamp) : toMillis(execution.startDate);
  const endOfRun = toMillis(execution.stopDate);
  const stat = (name) => (states[name] = states[name] ||
    {entered: 0, exited: 0, failed: false, aborted: false});

  events.forEach((event, index) => {
    const type = String(event.type || "");
    const details = detailsOf(event) || {};
    const t = toMillis(event.timestamp);
    if (type.endsWith("StateEntered") && details.name !== undefined) {
      const name = details.name;
      const from = (preds[name] || []).filter((p) => lastSeen[p] !== undefined)
        .sort((a, b) => lastSeen[b] - lastSeen[a])[0];
      if (from !== undefined) edges.add(from + "\u0000" + name);
      else if (definition && name === definition.StartAt) edges.add("\u0001start\u0000" + name);
      stat(name).entered += 1;
      lastSeen[name] = index;
      const entry = {name, type: types[name] || type.replace(/StateEntered$/, ""), start: t,
        end: null, outcome: "running", index: entries.length};
      entries.push(entry);
      open.push(entry);
    } else if (type.endsWith("StateExited") && details.name !== undefined) {
      const at = findOpen(open, (e) => e.name === details.name);
      stat(details.name).exited += 1;
      lastSeen[details.name] = index;
      if (at >= 0) {
        const entry = open.splice(at, 1)[0];
        entry.end = t;
        if (entry.outcome === "running") entry.outcome = "succeeded";
      }
    } else if (FAILURE.test(type) && !type.startsWith("Execution") && !type.startsWith("MapIteration")
               && !type.startsWith("MapRun")) {
      const family = type.startsWith("Map") ? "Map" : type.startsWith("Parallel") ? "Parallel" : "Task";
      let at = findOpen(open, (e) => e.type === family);
      if (at < 0) at = open.length - 1;
      if (at >= 0) {
        open[at].outcome = "failed";
        stat(open[at].name).failed = true;
        lastSeen[open[at].name] = index;
      }
    }
  });

  const status = execution.status;
  const failedRun = TERMINAL.includes(status) && status !== Status.SUCCEEDED;
  for (const entry of open) {
    if (failedRun) {
      const aborted = status === Status.ABORTED;
      entry.outcome = aborted ? "aborted" : "failed";
      entry.end = endOfRun;
      stat(entry.name)[aborted ? "aborted" : "failed"] = true;
    } else if (status !== Status.RUNNING) {
      entry.end = endOfRun;
    }
  }
  for (const entry of entries) {
    if (entry.type === "Fail") {
      entry.outcome = "failed";
      stat(entry.name).failed = true;
    }
  }
  const active = new Set(status === Status.RUNNING ? open.map((e) => e.name) : []);
  if (status === Status.SUCCEEDED && definition) {
    for (const [name, st] of Object.entries(states)) {
      if (st.exited && isTerminal(findState(definition, name), true)) edges.add(name + "\u0000\u0001end");
    }
  }
  return {entries, states, edges, active, start, end: endOfRun};
}

function findOpen(open, test) {
  for (let i = open.length - 1; i >= 0; i -= 1) if (test(open[i])) return i;
  return -1;
}
