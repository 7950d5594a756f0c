/* The end of a trace: the entries the history left open, and what each state adds up to. */

import {findState, isTerminal} from "./definition.js";
import {toMillis} from "./format.js";
import {Status} from "./statuses.js";

/**
 * A finished execution has no running entry: one the history left open ends with the
 * execution, as its last attempt ended, or else as the execution did (the state a failed
 * run failed in is failed, the ones called off with it aborted).
 */
function closeOpen(open, execution) {
  const status = execution.status;
  if (status === Status.RUNNING) return;
  const end = toMillis(execution.stopDate);
  for (const entry of open) {
    entry.end = end;
    if (entry.attempt === "failed") entry.outcome = "failed";
    else if (status === Status.SUCCEEDED) entry.outcome = "succeeded";
    else if (status === Status.ABORTED) entry.outcome = "aborted";
    else entry.outcome = entry.thread.parent === null ? "failed" : "aborted";
  }
}

/**
 * Per state: entries, exits, retries, and whether it ended failed or aborted: in each thread
 * (the top, each Map item, by its index) the state's last entry counts, so a state entered
 * again by a loop or a redrive is coloured as it ended the last time.
 */
function statesOfEntries(entries) {
  const states = {};
  const last = new Map();
  for (const entry of entries) {
    const st = states[entry.name] = states[entry.name] ||
      {entered: 0, exited: 0, retries: 0, failed: false, aborted: false};
    st.entered += 1;
    st.exited += entry.exited ? 1 : 0;
    st.retries += Math.max(0, entry.attempts - 1);
    last.set(entry.thread.path.join(".") + "\u0000" + entry.name, entry);
  }
  for (const entry of last.values()) {
    const st = states[entry.name];
    st.failed = st.failed || entry.outcome === "failed";
    st.aborted = st.aborted || entry.outcome === "aborted";
  }
  return states;
}

export function settle({entries, open, edges, start}, definition, execution) {
  closeOpen(open, execution);
  for (const entry of entries) if (entry.type === "Fail") entry.outcome = "failed";
  const states = statesOfEntries(entries);
  const running = execution.status === Status.RUNNING;
  const active = new Set(running ? open.map((e) => e.name) : []);
  if (execution.status === Status.SUCCEEDED && definition) {
    for (const [name, st] of Object.entries(states)) {
      if (st.exited && isTerminal(findState(definition, name), true)) edges.add(name + "\u0000\u0001end");
    }
  }
  return {entries, states, edges, active, start, end: toMillis(execution.stopDate)};
}
