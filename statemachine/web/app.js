/*
 * statemachine dashboard: executions, state machines, and one execution's graph, history
 * and timeline, all read from the /v1 JSON API of this origin.
 *
 * Every piece of data is put on the page as text (textContent, attribute values through
 * setAttribute, SVG text nodes): nothing from the API ever goes through innerHTML, so a
 * state name or an error cause such as "<img onerror=...>" is shown, never run.
 */
"use strict";

const REFRESH_MS = 2000;
const MAX_PAYLOAD_BYTES = 256 * 1024;
const MAX_HISTORY_PAGES = 20;
const MAX_TIMELINE_BARS = 300;
const STATUSES = ["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"];
const BAD_NAME = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]/;
const SVG_NS = "http://www.w3.org/2000/svg";

/* ---------------------------------------------------------------- DOM helpers */

/** Append children (strings become text nodes; null/false are skipped; arrays flatten). */
function append(parent, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else if (child instanceof Node) parent.appendChild(child);
    else parent.appendChild(document.createTextNode(String(child)));
  }
  return parent;
}

/** Set attributes and listeners: {class, onclick: fn, ...}; values are never parsed as HTML. */
function setProps(el, props) {
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  return el;
}

/** An HTML element: h("a", {href: "#/"}, "text", child, ...). */
function h(tag, props, ...children) {
  return append(setProps(document.createElement(tag), props), children);
}

/** An SVG element, same calling convention as h(). */
function svg(tag, props, ...children) {
  return append(setProps(document.createElementNS(SVG_NS, tag), props), children);
}

function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

function card(title, ...children) {
  return h("section", {class: "card"}, title ? h("h2", null, title) : null, ...children);
}

function badge(status) {
  return h("span", {class: "badge s-" + String(status || "UNKNOWN").toLowerCase()}, status || "?");
}

/* ---------------------------------------------------------------- formatting */

function toMillis(t) {
  if (t === null || t === undefined) return null;
  if (typeof t === "number") return t < 1e11 ? t * 1000 : t;
  const parsed = Date.parse(t);
  return Number.isNaN(parsed) ? null : parsed;
}

function pad(n, width) {
  return String(n).padStart(width || 2, "0");
}

function formatTime(t) {
  const ms = toMillis(t);
  if (ms === null) return "—";
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

function formatDuration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "—";
  if (ms < 0) ms = 0;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${pad(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86400)}d ${pad(Math.floor(s / 3600) % 24)}h`;
}

/** Pretty JSON for display. */
function pretty(value) {
  if (value === undefined) return "";
  return JSON.stringify(value, null, 2);
}

/** A history event's details, with the JSON text of its input/output shown as JSON. */
function prettyDetails(details) {
  return pretty(unpack(details));
}

function unpack(value) {
  if (typeof value === "string") {
    const text = value.trim();
    if (text.startsWith("{") || text.startsWith("[")) {
      try { return JSON.parse(text); } catch (e) { return value; }
    }
    return value;
  }
  if (Array.isArray(value)) return value.map(unpack);
  if (value && typeof value === "object") {
    const out = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = (k === "input" || k === "output" || k === "parameters") ? unpack(v) : v;
    }
    return out;
  }
  return value;
}

/** A definition as an object (the API may hand back the JSON text it was given). */
function parseDefinition(definition) {
  if (typeof definition !== "string") return definition;
  try { return JSON.parse(definition); } catch (e) { return null; }
}

function byteLength(text) {
  return new TextEncoder().encode(text).length;
}

/* ---------------------------------------------------------------- API */

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(method, path, body) {
  const init = {method, headers: {Accept: "application/json"}};
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    setConn(false, "API unreachable");
    throw new ApiError(0, "Unreachable", "the API did not answer: " + e.message);
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch (e) { data = null; }
  }
  setConn(true);
  if (!response.ok) {
    const code = data && data.error ? data.error : "HTTP " + response.status;
    const message = data && data.message ? data.message : response.statusText;
    throw new ApiError(response.status, code, message);
  }
  return data;
}

function enc(part) {
  return encodeURIComponent(part);
}

function setConn(ok, text) {
  const el = document.getElementById("conn");
  el.className = "conn " + (ok ? "ok" : "down");
  el.textContent = ok ? "API ok" : text;
}

function flash(message) {
  const el = document.getElementById("flash");
  if (!message) {
    el.hidden = true;
    return;
  }
  clear(el);
  append(el, [message, " ", h("button", {class: "link", onclick: () => flash(null)}, "dismiss")]);
  el.hidden = false;
}

/* ---------------------------------------------------------------- router */

const view = {generation: 0, refresh: null, timer: null};

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const [path, query] = raw.split("?");
  const parts = path.split("/").filter(Boolean).map((p) => {
    try { return decodeURIComponent(p); } catch (e) { return p; }
  });
  return {parts, query: new URLSearchParams(query || "")};
}

function route() {
  view.generation += 1;
  view.refresh = null;
  flash(null);
  const {parts, query} = parseHash();
  const main = clear(document.getElementById("main"));
  const section = parts[0] === "machines" ? "machines" : "executions";
  for (const link of document.querySelectorAll("[data-nav]")) {
    link.classList.toggle("active", link.dataset.nav === section);
  }
  if (parts[0] === "executions" && parts[1]) return executionPage(main, parts[1]);
  if (parts[0] === "machines" && parts[1]) return machinePage(main, parts[1], query);
  if (parts[0] === "machines") return machinesPage(main);
  return executionsPage(main, query);
}

/** Run fn only if the page it was started for is still shown. */
function current(generation) {
  return generation === view.generation;
}

function tick() {
  const auto = document.getElementById("autorefresh");
  if (auto.checked && view.refresh && !document.hidden) {
    view.refresh().catch((e) => flash(e.message));
  }
}

/* ---------------------------------------------------------------- executions list */

async function executionsPage(main, query) {
  const generation = view.generation;
  const filters = {machine: query.get("machine") || "", status: query.get("status") || ""};
  const cursors = [null];
  let page = 0;
  let lastKey = "";

  const machineSelect = h("select", {id: "f-machine", "aria-label": "State machine"},
    h("option", {value: ""}, "All state machines"));
  const statusSelect = h("select", {id: "f-status", "aria-label": "Status"},
    h("option", {value: ""}, "All statuses"),
    STATUSES.map((s) => h("option", {value: s}, s)));
  statusSelect.value = filters.status;
  const body = h("tbody", {id: "executions-body"});
  const info = h("span", {class: "muted", id: "page-info"});
  const prev = h("button", {type: "button", onclick: () => go(-1)}, "← Newer");
  const next = h("button", {type: "button", onclick: () => go(1)}, "Older →");

  const onFilter = () => {
    const q = new URLSearchParams();
    if (machineSelect.value) q.set("machine", machineSelect.value);
    if (statusSelect.value) q.set("status", statusSelect.value);
    const text = q.toString();
    location.hash = "#/" + (text ? "?" + text : "");
  };
  machineSelect.addEventListener("change", onFilter);
  statusSelect.addEventListener("change", onFilter);

  append(main, [
    h("div", {class: "page-head"}, h("h1", null, "Executions"),
      h("div", {class: "toolbar"}, machineSelect, statusSelect,
        h("button", {type: "button", onclick: () => load(true)}, "Refresh"))),
    card(null,
      h("table", {class: "grid", id: "executions"},
        h("thead", null, h("tr", null, ["Status", "Name", "State machine", "Started", "Stopped",
          "Duration"].map((c) => h("th", null, c)))),
        body),
      h("div", {class: "pager"}, prev, info, next)),
  ]);

  api("GET", "/v1/state-machines").then((data) => {
    if (!current(generation)) return;
    const names = data.stateMachines.map((m) => m.name).sort();
    if (filters.machine && !names.includes(filters.machine)) names.unshift(filters.machine);
    for (const name of names) append(machineSelect, [h("option", {value: name}, name)]);
    machineSelect.value = filters.machine;
  }).catch((e) => flash(e.message));

  async function go(step) {
    page = Math.max(0, page + step);
    await load(true);
  }

  async function load(force) {
    const q = new URLSearchParams({limit: "25"});
    if (filters.machine) q.set("stateMachine", filters.machine);
    if (filters.status) q.set("status", filters.status);
    if (cursors[page]) q.set("cursor", cursors[page]);
    const data = await api("GET", "/v1/executions?" + q.toString());
    if (!current(generation)) return;
    cursors[page + 1] = data.nextCursor || null;
    prev.disabled = page === 0;
    next.disabled = !data.nextCursor;
    info.textContent = `page ${page + 1} · ${data.executions.length} shown`;
    const key = JSON.stringify(data);
    if (!force && key === lastKey) return;
    lastKey = key;
    renderRows(body, data.executions);
  }

  view.refresh = () => load(false);
  await load(true).catch((e) => flash(e.message));
}

function renderRows(body, executions) {
  clear(body);
  if (!executions.length) {
    append(body, [h("tr", null, h("td", {colspan: "6", class: "empty"}, "No executions."))]);
    return;
  }
  const now = Date.now();
  for (const x of executions) {
    const start = toMillis(x.startDate);
    const stop = toMillis(x.stopDate);
    append(body, [h("tr", {class: "execution-row", dataset: {status: x.status}},
      h("td", null, badge(x.status)),
      h("td", null, h("a", {href: "#/executions/" + enc(x.executionId), class: "execution-link"},
        x.name)),
      h("td", null, h("a", {href: "#/machines/" + enc(x.stateMachine)}, x.stateMachine),
        h("span", {class: "muted"}, " v" + x.version)),
      h("td", null, formatTime(start)),
      h("td", null, formatTime(stop)),
      h("td", null, formatDuration((stop || now) - start), stop ? null : h("span",
        {class: "muted"}, " so far")))]);
  }
}

/* ---------------------------------------------------------------- state machines */

async function machinesPage(main) {
  const generation = view.generation;
  const body = h("tbody", {id: "machines-body"});
  append(main, [
    h("div", {class: "page-head"}, h("h1", null, "State machines")),
    card(null, h("table", {class: "grid", id: "machines"},
      h("thead", null, h("tr", null, ["Name", "Latest version", "Created", ""].map(
        (c) => h("th", null, c)))),
      body)),
  ]);
  const data = await api("GET", "/v1/state-machines").catch((e) => flash(e.message));
  if (!data || !current(generation)) return;
  const machines = data.stateMachines.slice().sort((a, b) => a.name.localeCompare(b.name));
  if (!machines.length) {
    append(body, [h("tr", null, h("td", {colspan: "4", class: "empty"},
      "No state machines yet: POST one to /v1/state-machines."))]);
  }
  for (const m of machines) {
    append(body, [h("tr", null,
      h("td", null, h("a", {href: "#/machines/" + enc(m.name)}, m.name)),
      h("td", null, "v" + m.version),
      h("td", null, formatTime(m.createdAt)),
      h("td", null, h("a", {href: "#/?machine=" + enc(m.name)}, "executions")))]);
  }
}

async function machinePage(main, name, query) {
  const generation = view.generation;
  const wanted = query.get("version");
  const path = "/v1/state-machines/" + enc(name) + (wanted ? "?version=" + enc(wanted) : "");
  let machine;
  try {
    machine = await api("GET", path);
  } catch (e) {
    append(main, [h("h1", null, name), card(null, h("p", {class: "error-text"}, e.message))]);
    return;
  }
  if (!current(generation)) return;
  const latest = await api("GET", "/v1/state-machines/" + enc(name)).catch(() => machine);
  if (!current(generation)) return;

  const versionSelect = h("select", {"aria-label": "Version", id: "version"});
  for (let v = latest.version; v >= 1; v -= 1) {
    append(versionSelect, [h("option", {value: String(v)}, "version " + v +
      (v === latest.version ? " (latest)" : ""))]);
  }
  versionSelect.value = String(machine.version);
  versionSelect.addEventListener("change", () => {
    location.hash = "#/machines/" + enc(name) + "?version=" + enc(versionSelect.value);
  });

  const definition = parseDefinition(machine.definition);
  append(main, [
    h("div", {class: "page-head"},
      h("h1", null, name),
      h("div", {class: "toolbar"}, versionSelect,
        h("span", {class: "muted"}, "created " + formatTime(machine.createdAt)),
        h("a", {class: "button", href: "#/?machine=" + enc(name)}, "Executions"))),
    h("div", {class: "columns"},
      h("div", {class: "col-narrow"}, startForm(name, machine.version),
        card("Definition", h("details", null, h("summary", null, "JSON"),
          h("pre", {class: "json"}, pretty(definition))))),
      h("div", {class: "col-wide"}, card("Graph", graphView(definition, null)))),
  ]);
}

/** The Start form: JSON input checked in the browser before anything is sent. */
function startForm(machine, version) {
  const input = h("textarea", {id: "start-input", rows: "8", spellcheck: "false",
    "aria-label": "Execution input (JSON)"}, "{}");
  const nameField = h("input", {id: "start-name", type: "text", placeholder: "optional",
    maxlength: "80", autocomplete: "off"});
  const message = h("p", {class: "form-message", id: "start-message", role: "alert"});
  const button = h("button", {type: "submit", class: "primary"}, "Start execution");

  function problem() {
    const text = input.value.trim() === "" ? "{}" : input.value;
    let value;
    try {
      value = JSON.parse(text);
    } catch (e) {
      return {error: "Input is not valid JSON: " + e.message +
        ". Example: {\"name\": \"Ada\"}"};
    }
    if (byteLength(text) > MAX_PAYLOAD_BYTES) {
      return {error: `Input is ${byteLength(text)} bytes; at most ${MAX_PAYLOAD_BYTES} allowed.`};
    }
    const name = nameField.value.trim();
    if (name && BAD_NAME.test(name)) {
      return {error: "Execution names may not contain whitespace, brackets, wildcards or " +
        "any of \"#%\\^|~`$&,;:/"};
    }
    return {value, name};
  }

  function show(text, kind) {
    message.textContent = text;
    message.className = "form-message " + (kind || "");
  }

  input.addEventListener("input", () => {
    const checked = problem();
    show(checked.error || "", checked.error ? "bad" : "");
    input.classList.toggle("invalid", Boolean(checked.error));
  });

  const form = h("form", {class: "start-form", id: "start-form", novalidate: true},
    h("label", {for: "start-input"}, "Input (JSON)"), input,
    h("label", {for: "start-name"}, "Execution name"), nameField,
    h("div", {class: "form-row"}, button,
      h("span", {class: "muted"}, `runs the latest version (now v${version})`)),
    message);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const checked = problem();
    if (checked.error) {
      show(checked.error, "bad");
      input.classList.add("invalid");
      return;
    }
    const body = {input: checked.value};
    if (checked.name) body.name = checked.name;
    button.disabled = true;
    show("Starting…", "");
    try {
      const started = await api("POST", "/v1/state-machines/" + enc(machine) + "/executions", body);
      location.hash = "#/executions/" + enc(started.executionId);
    } catch (e) {
      show(`${e.code}: ${e.message}`, "bad");
    } finally {
      button.disabled = false;
    }
  });
  return card("Start an execution", form);
}

/* ---------------------------------------------------------------- one execution */

async function executionPage(main, id) {
  const generation = view.generation;
  let execution;
  try {
    execution = await api("GET", "/v1/executions/" + enc(id));
  } catch (e) {
    append(main, [h("h1", null, "Execution"), card(null, h("p", {class: "error-text"}, e.message))]);
    return;
  }
  if (!current(generation)) return;
  const machine = await api("GET", `/v1/state-machines/${enc(execution.stateMachine)}?version=` +
    enc(execution.version)).catch(() => null);
  let events = await loadHistory(id);
  if (!current(generation)) return;
  const definition = machine ? parseDefinition(machine.definition) : null;
  let key = "";

  function render() {
    key = execution.status + "/" + events.length;
    clear(main);
    const trace = traceHistory(events, definition, execution);
    append(main, [
      executionHead(execution, async () => {
        execution = await api("GET", "/v1/executions/" + enc(id));
        events = await loadHistory(id);
        if (current(generation)) render();
      }),
      h("div", {class: "columns"},
        h("div", {class: "col-narrow"}, summaryCard(execution)),
        h("div", {class: "col-wide"}, card("Graph",
          definition ? graphView(definition, trace) : h("p", {class: "muted"},
            "The state machine definition is not available."),
          legend()))),
      card("Timeline", timelineView(trace, execution)),
      card(`History (${events.length} events)`, historyTable(events, execution)),
    ]);
  }

  render();
  view.refresh = async () => {
    if (execution.status !== "RUNNING") return;
    const fresh = await api("GET", "/v1/executions/" + enc(id));
    const freshEvents = await loadHistory(id);
    if (!current(generation)) return;
    execution = fresh;
    events = freshEvents;
    if (execution.status + "/" + events.length !== key) render();
  };
}

async function loadHistory(id) {
  const events = [];
  let cursor = null;
  for (let page = 0; page < MAX_HISTORY_PAGES; page += 1) {
    const q = new URLSearchParams({limit: "1000"});
    if (cursor) q.set("cursor", cursor);
    const data = await api("GET", `/v1/executions/${enc(id)}/history?` + q.toString());
    events.push(...data.events);
    cursor = data.nextCursor;
    if (!cursor) break;
  }
  return events;
}

function executionHead(execution, reload) {
  const stop = h("button", {type: "button", class: "danger", id: "stop"}, "Stop execution");
  stop.addEventListener("click", async () => {
    if (!window.confirm(`Stop execution ${execution.name}? It will end as ABORTED.`)) return;
    stop.disabled = true;
    try {
      await api("POST", "/v1/executions/" + enc(execution.executionId) + "/stop", {});
      await reload();
    } catch (e) {
      flash(`${e.code}: ${e.message}`);
      stop.disabled = false;
    }
  });
  return h("div", {class: "page-head"},
    h("h1", null, h("span", {class: "muted"}, "Execution "), execution.name, " ",
      badge(execution.status)),
    h("div", {class: "toolbar"},
      h("a", {class: "button", href: "#/machines/" + enc(execution.stateMachine) + "?version=" +
        enc(execution.version)}, execution.stateMachine + " v" + execution.version),
      execution.status === "RUNNING" ? stop : null));
}

function summaryCard(execution) {
  const start = toMillis(execution.startDate);
  const stop = toMillis(execution.stopDate);
  const rows = [
    ["Status", badge(execution.status)],
    ["Execution id", h("code", null, execution.executionId)],
    ["State machine", execution.stateMachine + " v" + execution.version],
    ["Started", formatTime(start)],
    ["Stopped", formatTime(stop)],
    ["Duration", formatDuration((stop || Date.now()) - start) + (stop ? "" : " so far")],
  ];
  if (execution.error) rows.push(["Error", h("span", {class: "error-text", id: "x-error"}, execution.error)]);
  if (execution.cause) rows.push(["Cause", h("span", {class: "cause", id: "x-cause"}, execution.cause)]);
  return card("Summary",
    h("dl", {class: "summary", id: "summary"}, rows.map(([k, v]) => [h("dt", null, k), h("dd", null, v)])),
    h("h3", null, "Input"), h("pre", {class: "json", id: "x-input"}, pretty(execution.input)),
    h("h3", null, "Output"), h("pre", {class: "json", id: "x-output"},
      execution.output === null || execution.output === undefined ? "—" : pretty(execution.output)));
}

function legend() {
  const item = (cls, text) => h("span", {class: "legend-item"}, h("i", {class: "swatch " + cls}), text);
  return h("div", {class: "legend"}, item("visited", "entered"), item("active", "running"),
    item("failed", "failed"), item("aborted", "stopped"), item("unvisited", "not entered"));
}

/* ---------------------------------------------------------------- history analysis */

function detailsOf(event) {
  for (const [k, v] of Object.entries(event)) {
    if (k.endsWith("EventDetails") && v && typeof v === "object") return v;
  }
  return null;
}

const FAILURE = /(Failed|TimedOut|Aborted)$/;

/**
 * Walk the history once: every state entry with its exit (or end), which states were
 * entered, which failed, which are still running, and which edges were followed.
 */
function traceHistory(events, definition, execution) {
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
  const failedRun = status === "FAILED" || status === "TIMED_OUT" || status === "ABORTED";
  for (const entry of open) {
    if (failedRun) {
      const aborted = status === "ABORTED";
      entry.outcome = aborted ? "aborted" : "failed";
      entry.end = endOfRun;
      stat(entry.name)[aborted ? "aborted" : "failed"] = true;
    } else if (status !== "RUNNING") {
      entry.end = endOfRun;
    }
  }
  for (const entry of entries) {
    if (entry.type === "Fail") {
      entry.outcome = "failed";
      stat(entry.name).failed = true;
    }
  }
  const active = new Set(status === "RUNNING" ? open.map((e) => e.name) : []);
  if (status === "SUCCEEDED" && definition) {
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

/* ---------------------------------------------------------------- definition walking */

/** Every nested {StartAt, States} of a state: Parallel branches, Map processor. */
function subGraphs(state) {
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

function stateTypes(definition) {
  const types = {};
  eachState(definition, (name, state) => { types[name] = state && state.Type; });
  return types;
}

function findState(definition, wanted) {
  let found = null;
  eachState(definition, (name, state, graph, depth) => {
    if (name === wanted && found === null) found = {state, depth};
  });
  return found;
}

function isTerminal(found, topOnly) {
  if (!found || (topOnly && found.depth > 0)) return false;
  const s = found.state || {};
  return s.End === true || s.Type === "Succeed";
}

/** Outgoing transitions of a state: [{to, kind}]. */
function transitions(state) {
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

function predecessors(definition) {
  const preds = {};
  eachState(definition, (name, state) => {
    for (const t of transitions(state)) (preds[t.to] = preds[t.to] || []).push(name);
  });
  return preds;
}

/* ---------------------------------------------------------------- graph layout */

const NODE_H = 40;
const GAP_X = 28;
const GAP_Y = 38;
const PAD = 12;
const HEADER = 26;
let measureCtx = null;

function textWidth(text, font) {
  if (!measureCtx) measureCtx = document.createElement("canvas").getContext("2d");
  if (!measureCtx) return text.length * 7;
  measureCtx.font = font;
  return measureCtx.measureText(text).width;
}

function shorten(text, max) {
  return text.length > max ? text.slice(0, max - 1) + "…" : text;
}

/**
 * Lay out one {StartAt, States} graph top-down: layers by longest path from StartAt (back
 * edges ignored), nodes ordered by their predecessors' positions, Parallel and Map states
 * drawn as boxes holding their own laid-out graphs.  Returns {width, height, nodes, edges}.
 */
function layoutGraph(graph, withEnds) {
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

/* ---------------------------------------------------------------- graph drawing */

function graphView(definition, trace) {
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
    (st ? ` · entered ${st.entered}×, exited ${st.exited}×` : "");
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

/* ---------------------------------------------------------------- timeline */

function timelineView(trace, execution) {
  const entries = trace.entries;
  if (!entries.length) return h("p", {class: "muted"}, "No state entered yet.");
  const now = Date.now();
  const t0 = trace.start;
  const t1 = Math.max(trace.end || now, ...entries.map((e) => e.end || e.start || t0));
  const span = Math.max(1, t1 - t0);
  const shown = entries.slice(0, MAX_TIMELINE_BARS);
  const counts = {};
  const rows = shown.map((entry) => {
    counts[entry.name] = (counts[entry.name] || 0) + 1;
    const end = entry.end === null ? (execution.status === "RUNNING" ? now : t1) : entry.end;
    const left = ((entry.start - t0) / span) * 100;
    const width = Math.max(((end - entry.start) / span) * 100, 0);
    const bar = h("div", {class: `bar o-${entry.outcome}`,
      title: `${entry.name}: ${formatDuration(end - entry.start)} (${entry.outcome})`});
    bar.style.left = `${Math.min(left, 100)}%`;
    bar.style.width = `max(3px, ${Math.min(width, 100 - left)}%)`;
    const label = entry.name + (counts[entry.name] > 1 ? ` #${counts[entry.name]}` : "");
    return h("div", {class: "tl-row"},
      h("div", {class: "tl-label", title: entry.name}, label),
      h("div", {class: "tl-track"}, bar),
      h("div", {class: "tl-dur"}, formatDuration(end - entry.start)));
  });
  const ticks = (span < 20 ? [0, 1] : [0, 0.25, 0.5, 0.75, 1]).map((f) => {
    const tick = h("span", {class: "tick"}, "+" + formatDuration(span * f));
    tick.style.left = `${f * 100}%`;
    return tick;
  });
  return h("div", {class: "timeline", id: "timeline"},
    h("div", {class: "tl-row tl-axis"}, h("div", {class: "tl-label"}, ""),
      h("div", {class: "tl-track"}, ticks), h("div", {class: "tl-dur"}, "")),
    rows,
    entries.length > shown.length ?
      h("p", {class: "muted"}, `${entries.length - shown.length} more state entries not shown.`) : null);
}

/* ---------------------------------------------------------------- history table */

function eventSummary(event) {
  const d = detailsOf(event);
  if (!d) return "";
  const parts = [];
  if (d.name !== undefined) parts.push(String(d.name));
  if (d.error !== undefined) parts.push(String(d.error));
  if (d.index !== undefined) parts.push("index " + d.index);
  if (d.length !== undefined) parts.push(d.length + " items");
  if (d.resource !== undefined) parts.push(String(d.resource));
  if (d.cause !== undefined && !parts.length) parts.push(shorten(String(d.cause), 80));
  return parts.join(" · ");
}

function historyTable(events, execution) {
  const t0 = events.length ? toMillis(events[0].timestamp) : toMillis(execution.startDate);
  const body = h("tbody", {id: "history-body"});
  for (const event of events) {
    const d = detailsOf(event);
    const type = String(event.type || "");
    const t = toMillis(event.timestamp);
    const cls = "history-row" + (FAILURE.test(type) ? " bad" : type.endsWith("Succeeded") ? " good" : "");
    append(body, [h("tr", {class: cls},
      h("td", {class: "num"}, String(event.id)),
      h("td", {class: "time", title: formatTime(t)}, formatTime(t).slice(11),
        h("span", {class: "muted"}, " +" + formatDuration(t - t0))),
      h("td", {class: "type"}, type),
      h("td", {class: "details"}, d ? h("details", null, h("summary", null, eventSummary(event) || "details"),
        h("pre", {class: "json"}, prettyDetails(d))) : h("span", {class: "muted"}, eventSummary(event))))]);
  }
  return h("div", {class: "history-wrap"}, h("table", {class: "grid history", id: "history"},
    h("thead", null, h("tr", null, ["ID", "Time", "Type", "Details"].map((c) => h("th", null, c)))),
    body));
}

/* ---------------------------------------------------------------- start */

function boot() {
  const auto = document.getElementById("autorefresh");
  try {
    auto.checked = localStorage.getItem("sm.autorefresh") !== "off";
  } catch (e) {
    auto.checked = true;
  }
  auto.addEventListener("change", () => {
    try { localStorage.setItem("sm.autorefresh", auto.checked ? "on" : "off"); } catch (e) { /* private mode */ }
  });
  window.addEventListener("hashchange", route);
  view.timer = setInterval(tick, REFRESH_MS);
  route();
}

boot();
