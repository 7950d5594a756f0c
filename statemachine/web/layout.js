/* The graph's layout: where each state of a definition goes, nested graphs included. */

import {subGraphs, transitions} from "./definition.js";
import {shorten} from "./format.js";

const NODE_H = 40;
const GAP_X = 28;
const GAP_Y = 38;
export const PAD = 12;
const HEADER = 26;
let measureCtx = null;

function textWidth(text, font) {
  if (!measureCtx) measureCtx = document.createElement("canvas").getContext("2d");
  if (!measureCtx) return text.length * 7;
  measureCtx.font = font;
  return measureCtx.measureText(text).width;
}

/**
 * Lay out one {StartAt, States} graph top-down: layers by longest path from StartAt (back
 * edges ignored), nodes ordered by their predecessors' positions, Parallel and Map states
 * drawn as boxes holding their own laid-out graphs.  Returns {width, height, nodes, edges}.
 */
export function layoutGraph(graph, withEnds) {
  const states = graph && graph.States && typeof graph.States === "object" ? graph.States : {};
  const names = Object.keys(states);
  const nodes = {};
  for (const name of names) nodes[name] = layoutNode(name, states[name]);
  const START = "\u0001start";
  const END = "\u0001end";
  if (withEnds) {
    nodes[START] = {name: START, pseudo: "start", w: 64, h: 26};
    nodes[END] = {name: END, pseudo: "end", w: 64, h: 26};
  }
  const edges = [];
  if (withEnds && states[graph.StartAt]) edges.push({from: START, to: graph.StartAt, kind: "next"});
  for (const name of names) {
    for (const t of transitions(states[name])) {
      if (nodes[t.to]) edges.push({from: name, to: t.to, kind: t.kind});
    }
    const s = states[name] || {};
    if (withEnds && (s.End === true || s.Type === "Succeed")) {
      edges.push({from: name, to: END, kind: "end"});
    }
  }

  const order = [];
  const onStack = new Set();
  const seen = new Set();
  const out = {};
  for (const e of edges) (out[e.from] = out[e.from] || []).push(e);
  function visit(name) {
    seen.add(name);
    onStack.add(name);
    for (const e of out[name] || []) {
      if (onStack.has(e.to)) e.back = true;
      else if (!seen.has(e.to)) visit(e.to);
    }
    onStack.delete(name);
    order.push(name);
  }
  const roots = withEnds ? [START] : [];
  if (states[graph.StartAt]) roots.push(graph.StartAt);
  for (const root of [...roots, ...names, ...(withEnds ? [END] : [])]) if (!seen.has(root)) visit(root);
  order.reverse();

  const layer = {};
  for (const name of order) layer[name] = layer[name] || 0;
  for (const name of order) {
    for (const e of out[name] || []) {
      if (!e.back) layer[e.to] = Math.max(layer[e.to] || 0, layer[name] + 1);
    }
  }
  if (withEnds) {
    const before = Object.entries(layer).filter(([n]) => n !== END).map(([, l]) => l);
    layer[END] = Math.max(0, ...before) + 1;
  }

  const layers = [];
  for (const name of order) (layers[layer[name]] = layers[layer[name]] || []).push(name);
  const preds = {};
  for (const e of edges) if (!e.back) (preds[e.to] = preds[e.to] || []).push(e.from);

  let width = 0;
  let y = 0;
  const rows = [];
  for (const row of layers) {
    if (!row) continue;
    rows.push(row);
    width = Math.max(width, row.reduce((sum, n) => sum + nodes[n].w, 0) + GAP_X * (row.length - 1));
  }
  for (const row of rows) {
    row.sort((a, b) => barycenter(a, preds, nodes) - barycenter(b, preds, nodes));
    const rowWidth = row.reduce((sum, n) => sum + nodes[n].w, 0) + GAP_X * (row.length - 1);
    const rowHeight = Math.max(...row.map((n) => nodes[n].h));
    let x = (width - rowWidth) / 2;
    for (const n of row) {
      nodes[n].x = x;
      nodes[n].y = y + (rowHeight - nodes[n].h) / 2;
      x += nodes[n].w + GAP_X;
    }
    y += rowHeight + GAP_Y;
  }
  const hasBack = edges.some((e) => e.back);
  return {width: width + (hasBack ? 48 : 0), height: Math.max(0, y - GAP_Y), nodes, edges};
}

function barycenter(name, preds, nodes) {
  const placed = (preds[name] || []).filter((p) => nodes[p].x !== undefined);
  if (!placed.length) return 0;
  return placed.reduce((sum, p) => sum + nodes[p].x + nodes[p].w / 2, 0) / placed.length;
}

function layoutNode(name, state) {
  const type = state && typeof state.Type === "string" ? state.Type : "?";
  const label = shorten(name, 34);
  const textW = Math.max(textWidth(label, "600 12px sans-serif"), textWidth(type, "11px sans-serif"));
  const node = {name, type, label, w: Math.max(120, Math.ceil(textW) + 28), h: NODE_H, children: []};
  const subs = subGraphs(state);
  if (!subs.length) return node;
  const inner = subs.map((sub) => layoutGraph(sub, false));
  const boxed = type === "Parallel";
  const innerW = inner.reduce((sum, g) => sum + g.width + (boxed ? 2 * PAD : 0), 0) +
    GAP_X * Math.max(0, inner.length - 1);
  const innerH = Math.max(0, ...inner.map((g) => g.height + (boxed ? 2 * PAD : 0)));
  node.w = Math.max(node.w, innerW + 2 * PAD);
  node.h = HEADER + innerH + 2 * PAD;
  let x = (node.w - innerW) / 2;
  for (const g of inner) {
    const boxW = g.width + (boxed ? 2 * PAD : 0);
    node.children.push({graph: g, x, y: HEADER + PAD, w: boxW, h: innerH, boxed});
    x += boxW + GAP_X;
  }
  return node;
}
