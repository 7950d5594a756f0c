/*
 * Threads of a trace: the top of an execution, each Map iteration (numbered by its item's
 * index) and each Parallel branch is a record of its own, and each state entry belongs to
 * one. A thread: {key, path (the item indexes from the top), group and index (a Map
 * iteration's, as MapIteration* events name it), parent, owner (the Map or Parallel entry)}.
 */

import {transitions} from "./definition.js";

export const TOP = Object.freeze({key: "", path: [], group: null, index: null, parent: null, owner: null});

/** The candidates that pass `test`, or all of them when none does. */
export function narrow(list, test) {
  const kept = list.filter(test);
  return kept.length ? kept : list;
}

/** Whether `thread` is `outer` or runs inside it. */
export function within(thread, outer) {
  for (let t = thread; t; t = t.parent) if (t === outer) return true;
  return false;
}

/** Whether `entry` runs inside the Map or Parallel entry `owner` (at any depth). */
export function inside(entry, owner) {
  for (let t = entry.thread; t; t = t.parent) if (t.owner === owner) return true;
  return false;
}

/** The thread of a Map iteration that `owner` (or, unknown, the top) started. */
export function iteration(owner, group, index) {
  const base = owner ? owner.thread : TOP;
  return {key: `${base.key}/${owner ? owner.index : "?"}[${index}]`, path: [...base.path, index],
    group, index, parent: base, owner: owner || null, ended: false};
}

/**
 * The thread a state entered after event `prev` runs in: the iteration just started, the
 * thread of the state it follows (`cur`), a new branch of the oldest Parallel entry that has
 * not started that branch yet (noted on it), or the top.
 */
export function threadOf(name, prev, {cur, fresh, open, states, places}) {
  if (prev === "MapIterationStarted" && fresh) return fresh;
  if (cur && prev.endsWith("StateExited") && states[cur.name] &&
      transitions(states[cur.name]).some((t) => t.to === name)) return cur.thread;
  const place = places[name];
  if (!place || place.container === null) return TOP;
  const owner = open.find((e) => e.name === place.container && e.type === "Parallel" &&
    e.started && !e.started.has(place.branch));
  if (owner && place.start) {
    owner.started.add(place.branch);  // each branch starts once an attempt
    return {key: `${owner.thread.key}/${owner.index}.${place.branch}`, path: owner.thread.path,
      group: null, index: null, parent: owner.thread, owner};
  }
  return cur ? cur.thread : TOP;
}
