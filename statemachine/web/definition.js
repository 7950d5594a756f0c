/* Walking an ASL definition: its nested graphs, states and transitions. */

/** A definition as an object (the API may hand back the JSON text it was given). */
export function parseDefinition(definition) {
  if (typeof definition !== "string") return definition;
  try { return JSON.parse(definition); } catch (e) { return null; }
}

/** Every nested {StartAt, States} of a state: Parallel branches, Map processor. */
export function subGraphs(state) {
  if (!state || typeof state !== "object") return [];
  if (state.Type === "Parallel" && Array.isArray(state.Branches)) return state.Branches;
  if (state.Type === "Map") {
    const processor = state.ItemProcessor || state.Iterator;
    return processor ? [processor] : [];
  }
  return [];
}

function eachState(graph, fn, depth) {
  const states = graph && graph.States && typeof graph.States === "object" ? graph.States : {};
  for (const [name, state] of Object.entries(states)) {
    fn(name, state, graph, depth || 0);
    for (const sub of subGraphs(state)) eachState(sub, fn, (depth || 0) + 1);
  }
}

/** Every state by name (nested ones too). */
export function statesOf(definition) {
  const states = {};
  eachState(definition, (name, state) => { states[name] = states[name] || state; });
  return states;
}

export function findState(definition, wanted) {
  let found = null;
  eachState(definition, (name, state, graph, depth) => {
    if (name === wanted && found === null) found = {state, depth};
  });
  return found;
}

export function isTerminal(found, topOnly) {
  if (!found || (topOnly && found.depth > 0)) return false;
  const s = found.state || {};
  return s.End === true || s.Type === "Succeed";
}

/** Outgoing transitions of a state: [{to, kind}]. */
export function transitions(state) {
  const out = [];
  if (!state || typeof state !== "object") return out;
  if (typeof state.Next === "string") out.push({to: state.Next, kind: "next"});
  if (Array.isArray(state.Choices)) {
    for (const choice of state.Choices) {
      if (choice && typeof choice.Next === "string") out.push({to: choice.Next, kind: "choice"});
    }
  }
  if (typeof state.Default === "string") out.push({to: state.Default, kind: "default"});
  if (Array.isArray(state.Catch)) {
    for (const c of state.Catch) if (c && typeof c.Next === "string") out.push({to: c.Next, kind: "catch"});
  }
  return out;
}

export function predecessors(definition) {
  const preds = {};
  eachState(definition, (name, state) => {
    for (const t of transitions(state)) (preds[t.to] = preds[t.to] || []).push(name);
  });
  return preds;
}

/**
 * Where each state sits: {container, branch, start} — the Map or Parallel state around it
 * (null at the top), which of a Parallel's branches, and whether it is its graph's StartAt.
 */
export function placesOf(definition) {
  const places = {};
  const visit = (graph, container, branch) => {
    const states = graph && graph.States && typeof graph.States === "object" ? graph.States : {};
    for (const [name, state] of Object.entries(states)) {
      places[name] = places[name] || {container, branch, start: name === graph.StartAt};
      subGraphs(state).forEach((sub, i) => visit(sub, name, i));
    }
  };
  visit(definition, null, 0);
  return places;
}
