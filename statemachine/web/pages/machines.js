/* The state machines page: every state machine's latest version. */

import {api, enc} from "../api.js";
import {append, card, h} from "../dom.js";
import {formatTime} from "../format.js";
import {flash} from "../notice.js";
import {current, view} from "../view.js";

export async function machinesPage(main) {
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
