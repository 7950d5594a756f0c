/* One state machine's page: a version's definition, its graph, the Start form, and its
 * published versions and aliases. */

import {api, enc} from "../api.js";
import {parseDefinition} from "../definition.js";
import {append, card, h} from "../dom.js";
import {formatTime, pretty} from "../format.js";
import {graphView} from "../graph.js";
import {current, view} from "../view.js";
import {catalogCard, loadCatalog} from "./catalog.js";
import {startForm} from "./start-form.js";

export async function machinePage(main, name, query) {
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

  // Every definition change is a revision; published versions (pages/catalog.js) name some.
  const versionSelect = h("select", {"aria-label": "Revision", id: "version"});
  for (let v = latest.version; v >= 1; v -= 1) {
    append(versionSelect, [h("option", {value: String(v)}, "revision " + v +
      (v === latest.version ? " (latest)" : ""))]);
  }
  versionSelect.value = String(machine.version);
  versionSelect.addEventListener("change", () => {
    location.hash = "#/machines/" + enc(name) + "?version=" + enc(versionSelect.value);
  });

  const definition = parseDefinition(machine.definition);
  const catalog = loadCatalog(name);
  append(main, [
    h("div", {class: "page-head"},
      h("h1", null, name),
      h("div", {class: "toolbar"}, versionSelect,
        h("span", {class: "muted"}, "created " + formatTime(machine.createdAt)),
        h("a", {class: "button", href: "#/?machine=" + enc(name)}, "Executions"))),
    h("div", {class: "columns"},
      h("div", {class: "col-narrow"}, startForm(name, machine.version, catalog),
        catalogCard(catalog, generation),
        card("Definition", h("details", null, h("summary", null, "JSON"),
          h("pre", {class: "json"}, pretty(definition))))),
      h("div", {class: "col-wide"}, card("Graph", graphView(definition, null)))),
  ]);
}
