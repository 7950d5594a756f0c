/* The executions page: the list, newest first, filtered by state machine and status. */

import {api, enc} from "../api.js";
import {append, badge, card, clear, h} from "../dom.js";
import {formatDuration, formatTime, toMillis} from "../format.js";
import {flash} from "../notice.js";
import {STATUSES} from "../statuses.js";
import {current, view} from "../view.js";

export async function executionsPage(main, query) {
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
