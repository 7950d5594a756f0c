/*
 * A state machine's published versions and aliases, from GET /v1/state-machines/{name}/versions
 * and /aliases (AWS's ListStateMachineVersions and ListStateMachineAliases in REST: entries
 * with the version's or alias's ARN, its creation date, and, when the answer has them, its
 * description and an alias's routing).
 */

import {api, enc, hasRoute} from "../api.js";
import {append, card, clear, h} from "../dom.js";
import {formatTime} from "../format.js";
import {current} from "../view.js";

/** The last part of a qualified ARN (…:stateMachine:name:3 → "3"), or null. */
function qualifier(arn) {
  const parts = String(arn || "").split(":");
  return parts.length > 7 ? parts[parts.length - 1] : null;
}

function versionRow(v) {
  const arn = v.stateMachineVersionArn || v.arn || "";
  const number = v.version !== undefined ? String(v.version) : qualifier(arn);
  return h("tr", {class: "version-row", dataset: {version: number || ""}},
    h("td", null, "v" + (number || "?")), h("td", null, formatTime(v.creationDate)),
    h("td", {class: "muted"}, v.description || ""));
}

function aliasRow(a) {
  const name = a.name || qualifier(a.stateMachineAliasArn || a.arn) || "?";
  const routing = (a.routingConfiguration || []).map((r) =>
    `v${qualifier(r.stateMachineVersionArn) || "?"} ${r.weight}%`).join(" · ");
  return h("tr", {class: "alias-row", dataset: {alias: name}},
    h("td", null, name), h("td", {class: "routing"}, routing || "—"),
    h("td", null, formatTime(a.creationDate)));
}

async function fill(body, route, name, key, row, columns, generation) {
  let data;
  try {
    data = await hasRoute("GET", route) ?
      await api("GET", route.replace("{name}", enc(name))) : {error: "not on this server"};
  } catch (e) {
    data = {error: `${e.code}: ${e.message}`};
  }
  if (!current(generation)) return;
  const items = data.error ? [] : data[key] || [];
  clear(body);
  const empty = data.error ? `Not available (${data.error}).` : "None yet.";
  if (!items.length) append(body, [h("tr", null, h("td", {colspan: String(columns), class: "empty"}, empty))]);
  append(body, items.map(row));
  if (data.nextToken) append(body, [h("tr", null, h("td", {colspan: String(columns), class: "muted"}, "more…"))]);
}

/** The card, filled when both answers are in (`generation`: the page's, see view.js). */
export function catalogCard(name, generation) {
  const versions = h("tbody", {id: "versions-body"});
  const aliases = h("tbody", {id: "aliases-body"});
  fill(versions, "/v1/state-machines/{name}/versions", name, "stateMachineVersions", versionRow, 3,
    generation);
  fill(aliases, "/v1/state-machines/{name}/aliases", name, "stateMachineAliases", aliasRow, 3,
    generation);
  const head = (...names) => h("thead", null, h("tr", null, names.map((c) => h("th", null, c))));
  return card("Versions and aliases",
    h("h3", null, "Published versions"),
    h("table", {class: "grid", id: "versions"}, head("Version", "Published", "Description"), versions),
    h("h3", null, "Aliases"),
    h("table", {class: "grid", id: "aliases"}, head("Alias", "Routing", "Created"), aliases));
}
