/*
 * The events of one step of one execution record. Map iterations and Parallel branches are
 * records of their own that write into the same history, so their events interleave, and an
 * event such as TaskSucceeded does not say whose it is. One step of a record writes a run of
 * consecutive events that follow each other by the rules below (a task's result, its state's
 * exit, the next state's entry, ...), and a run that ends an iteration names it
 * (MapIterationSucceeded/Failed carry the item's index): lookAhead reads that run.
 */

import {transitions} from "./definition.js";
import {CONTAINER_RESULT, TASK_RESULT, detailsOf, familyOf, nameOf} from "./events.js";

const INSTANT = new Set(["Pass", "Choice", "Succeed"]);
const MAX_RUN = 64;

/** Whether `next` belongs to the same run as `prev` (`states`: the definition's, by name). */
function follows(prev, next, states) {
  const a = String(prev.type || "");
  const b = String(next.type || "");
  const ends = /^(MapIteration|Execution)/.test(b);
  if (/(Succeeded)$/.test(a) && (TASK_RESULT.test(a) || CONTAINER_RESULT.test(a))) {
    return b.endsWith("StateExited") || TASK_RESULT.test(b);
  }
  if (TASK_RESULT.test(a) || CONTAINER_RESULT.test(a)) {  // a failure: caught, or the end
    return b === familyOf(a) + "StateExited" || b === "MapIterationFailed" || b.startsWith("Execution");
  }
  if (a.endsWith("StateExited")) {
    if (ends) return true;
    const from = states[nameOf(prev)];
    return b.endsWith("StateEntered") &&
      (!from || transitions(from).some((t) => t.to === nameOf(next)));
  }
  if (a.endsWith("StateEntered")) {
    const type = (states[nameOf(prev)] || {}).Type;
    if (INSTANT.has(type)) return b.endsWith("StateExited") && nameOf(next) === nameOf(prev);
    return type === "Fail" && ends;
  }
  return false;
}

/**
 * What the run that event `k` starts says about whose it is: the state it leaves first
 * (`exited`, with its `output`) and the Map iteration it ends (`iteration`: {group, index}),
 * each or null, and
 * whether `k` is alone in its run (`alone`: a task failure that waits for a retry).
 */
export function lookAhead(events, k, states) {
  const next = events[k + 1];
  const hint = {exited: null, output: null, iteration: null,
    alone: !next || !follows(events[k], next, states)};
  const exits = (j) => {
    if (hint.exited !== null || !String(events[j].type || "").endsWith("StateExited")) return;
    hint.exited = nameOf(events[j]);
    hint.output = (detailsOf(events[j]) || {}).output ?? null;
  };
  exits(k);
  for (let j = k + 1; j < events.length && j <= k + MAX_RUN; j += 1) {
    if (!follows(events[j - 1], events[j], states)) break;
    const type = String(events[j].type || "");
    exits(j);
    if (type === "MapIterationSucceeded" || type === "MapIterationFailed") {
      const d = detailsOf(events[j]) || {};
      hint.iteration = {group: String(d.name), index: d.index};
      break;
    }
  }
  return hint;
}
