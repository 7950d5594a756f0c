/* The graph drawn as SVG, with the path an execution took when given its trace. */

import {append, h, svg} from "./dom.js";
import {PAD, layoutGraph} from "./layout.js";

export function graphView(definition, trace) {
  if (!definition || typeof definition !== "object" || !definition.States) {
    return h("p", {class: "muted"}, "No graph: the definition has no States.");
  }
  const layout = layoutGraph(definition, true);
  const margin = 16;
  const width = Math.ceil(layout.width + 2 * margin);
  const height = Math.ceil(layout.height + 2 * margin);
  const root = svg("svg", {class: "graph" + (trace ? " traced" : ""), id: "graph",
    viewBox: `0 0 ${width} ${height}`, width: String(width), height: String(height),
    role: "img", "aria-label": "State machine graph"},
  svg("defs", null,
    arrowMarker("arrow", "arrowhead"),
    arrowMarker("arrow-taken", "arrowhead taken"),
    arrowMarker("arrow-catch", "arrowhead catch")));
  const g = svg("g", {transform: `translate(${margin},${margin})`});
  drawGraph(g, layout, trace);
  root.appendChild(g);
  const wrap = h("div", {class: "graph-wrap", title: "Click to switch between fit and full size"}, root);
  wrap.addEventListener("click", () => wrap.classList.toggle("zoomed"));
  return wrap;
}

function arrowMarker(id, cls) {
  return svg("marker", {id, viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "7",
    markerHeight: "7", orient: "auto-start-reverse"},
  svg("path", {d: "M 0 0 L 10 5 L 0 10 z", class: cls}));
}

function drawGraph(parent, layout, trace) {
  const edgeLayer = svg("g", {class: "edges"});
  const nodeLayer = svg("g", {class: "nodes"});
  parent.appendChild(edgeLayer);
  parent.appendChild(nodeLayer);
  for (const e of layout.edges) {
    const a = layout.nodes[e.from];
    const b = layout.nodes[e.to];
    const taken = trace && trace.edges.has(e.from + "\u0000" + e.to);
    const cls = "edge " + e.kind + (taken ? " taken" : "") + (e.back ? " back" : "");
    const marker = taken ? "arrow-taken" : e.kind === "catch" ? "arrow-catch" : "arrow";
    const path = svg("path", {d: edgePath(a, b, e.back), class: cls,
      "marker-end": `url(#${marker})`});
    if (e.kind === "catch" || e.kind === "default") {
      path.appendChild(svg("title", null, e.kind === "catch" ? "Catch" : "Default"));
    }
    edgeLayer.appendChild(path);
  }
  for (const node of Object.values(layout.nodes)) nodeLayer.appendChild(drawNode(node, trace));
}

function edgePath(a, b, back) {
  if (back) {
    const x1 = a.x + a.w;
    const y1 = a.y + a.h / 2;
    const x2 = b.x + b.w;
    const y2 = b.y + b.h / 2;
    const out = Math.max(x1, x2) + 36;
    return `M ${x1} ${y1} C ${out} ${y1}, ${out} ${y2}, ${x2 + 2} ${y2}`;
  }
  const x1 = a.x + a.w / 2;
  const y1 = a.y + a.h;
  const x2 = b.x + b.w / 2;
  const y2 = b.y - 2;
  const mid = (y1 + y2) / 2;
  return `M ${x1} ${y1} C ${x1} ${mid}, ${x2} ${mid}, ${x2} ${y2}`;
}

function nodeState(node, trace) {
  if (!trace) return "plain";
  const st = trace.states[node.name];
  if (trace.active.has(node.name)) return "active";
  if (st && st.failed) return "failed";
  if (st && st.aborted) return "aborted";
  if (st && st.entered) return "visited";
  return "unvisited";
}

function drawNode(node, trace) {
  const g = svg("g", {transform: `translate(${node.x},${node.y})`});
  if (node.pseudo) {
    const reached = trace && (node.pseudo === "start" ||
      [...trace.edges].some((e) => e.endsWith("\u0000\u0001end")));
    g.setAttribute("class", "node pseudo" + (reached ? " visited" : ""));
    append(g, [svg("rect", {width: String(node.w), height: String(node.h), rx: String(node.h / 2)}),
      svg("text", {x: String(node.w / 2), y: String(node.h / 2 + 4), "text-anchor": "middle"},
        node.pseudo === "start" ? "Start" : "End")]);
    return g;
  }
  const status = nodeState(node, trace);
  const st = trace && trace.states[node.name];
  g.setAttribute("class", `node ${status} t-${node.type.toLowerCase()}` +
    (node.children.length ? " container" : ""));
  g.setAttribute("data-state", node.name);
  const title = node.name + " (" + node.type + ")" +
    (st ? ` · entered ${st.entered}×, exited ${st.exited}×` : "") +
    (st && st.retries ? `, retried ${st.retries}×` : "");
  append(g, [svg("title", null, title),
    svg("rect", {class: "box", width: String(node.w), height: String(node.h), rx: "6"})]);
  if (!node.children.length) {
    append(g, [
      svg("text", {class: "name", x: String(node.w / 2), y: "17", "text-anchor": "middle"}, node.label),
      svg("text", {class: "type", x: String(node.w / 2), y: "31", "text-anchor": "middle"},
        node.type + (st && st.entered > 1 ? ` ×${st.entered}` : "")),
    ]);
    return g;
  }
  append(g, [svg("text", {class: "name", x: "10", y: "17"}, node.label),
    svg("text", {class: "type", x: String(node.w - 10), y: "17", "text-anchor": "end"},
      node.type + (st && st.entered > 1 ? ` ×${st.entered}` : ""))]);
  for (const child of node.children) {
    const inner = svg("g", {transform: `translate(${child.x},${child.y})`});
    if (child.boxed) {
      inner.appendChild(svg("rect", {class: "branch", width: String(child.w),
        height: String(child.h), rx: "6"}));
    }
    const content = svg("g", {transform: child.boxed ? `translate(${PAD},${PAD})` : ""});
    drawGraph(content, child.graph, trace);
    inner.appendChild(content);
    g.appendChild(inner);
  }
  return g;
}

/** The key to the nodes' colours. */
export function legend() {
  const item = (cls, text) => h("span", {class: "legend-item"}, h("i", {class: "swatch " + cls}), text);
  return h("div", {class: "legend"}, item("visited", "entered"), item("active", "running"),
    item("failed", "failed"), item("aborted", "stopped"), item("unvisited", "not entered"));
}
