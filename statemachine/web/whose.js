/*
 * Whose an event is, when it does not name its state (a task's result, a retry, a Map's or
 * Parallel's end) and more than one entry waits for one like it: the entry the run it starts
 * names (runs.js: the state it leaves, the Map iteration it ends), the entry whose input its
 * state's output kept most of, for a task failure that waits for a retry the entry whose
 * parameters are retried first, else the oldest.
 */

import {detailsOf, scheduledWith} from "./events.js";
import {lookAhead} from "./runs.js";
import {narrow} from "./threads.js";

const SCHEDULED = /^(Task|LambdaFunction|Activity)Scheduled$/;

/** Where tasks are scheduled again (not right after their state's entry), by parameters. */
function retriesOf(events) {
  const found = new Map();
  events.forEach((event, j) => {
    if (!SCHEDULED.test(String(event.type || "")) || j === 0 ||
        String(events[j - 1].type || "").endsWith("StateEntered")) return;
    const params = scheduledWith(detailsOf(event) || {});
    if (!found.has(params)) found.set(params, []);
    found.get(params).push(j);
  });
  return found;
}

function parsed(text) {
  try { return typeof text === "string" ? JSON.parse(text) : null; } catch (e) { return null; }
}

/** How many fields of an entry's input its state's output kept as they were (a ResultPath
 * such as "$.parsed" keeps the input beside the result): a Map item's fields tell its
 * iterations apart. */
function kept(entry, output) {
  if (entry.inputFields === undefined) {
    const value = parsed(entry.input);
    entry.inputFields = value && typeof value === "object" && !Array.isArray(value) ?
      Object.entries(value).map(([k, v]) => [k, JSON.stringify(v)]) : [];
  }
  return entry.inputFields.filter(([k, v]) => k in output && JSON.stringify(output[k]) === v).length;
}

export function chooser(events, states) {
  const retries = retriesOf(events);
  const soonest = (e, k) => (retries.get(e.params) || []).find((j) => j > k) ?? Infinity;

  /** One of `candidates` for event `k` (`failure`: a task's failure), or null. */
  const pick = (candidates, k, failure) => {
    if (candidates.length <= 1) return candidates[0] || null;
    const hint = lookAhead(events, k, states);
    let found = candidates;
    if (hint.exited !== null) found = narrow(found, (e) => e.name === hint.exited);
    const it = hint.iteration;
    if (it) found = narrow(found, (e) => e.thread.group === it.group && e.thread.index === it.index);
    const output = parsed(hint.output);
    if (output && typeof output === "object" && found.length > 1) {
      const best = Math.max(...found.map((e) => kept(e, output)));
      if (best > 0) found = found.filter((e) => kept(e, output) === best);
    }
    if (failure && hint.alone) {
      const first = Math.min(...found.map((e) => soonest(e, k)));
      found = narrow(found, (e) => soonest(e, k) === first);
    }
    return found.reduce((a, b) => (a.index <= b.index ? a : b));
  };

  /**
   * The entry a retry (event `k`, scheduled with `params`) is for: a `failed` one with these
   * parameters; when the open entry with them still waits for its result, the failure went
   * to another entry, which waits again.
   */
  const retried = (open, failed, params, k) => {
    const same = open.filter((e) => e.params !== undefined && e.params === params);
    if (!same.length || same.some((e) => e.attempt === "failed")) {
      return pick(narrow(failed, (e) => e.params === params), k);
    }
    const wrong = pick(failed, k);
    if (wrong) wrong.attempt = "pending";
    return pick(same.filter((e) => e.attempt === "pending"), k) || wrong;
  };

  return {pick, retried};
}
