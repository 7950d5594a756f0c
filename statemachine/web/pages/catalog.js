/*
 * A state machine's published versions and aliases: GET /v1/state-machines/{name}/versions and
 * /aliases (AWS's ListStateMachineVersions and ListStateMachineAliases: each entry an ARN and
 * a creation date), and each alias's routing from GET .../aliases/{alias}.
 */

import {api, enc, hasRoute} from "../api.js";
import {append, card, clear, h} from "../dom.js";
import {formatTime} from "../format.js";
import {current} from "../view.js";

const BASE = "/v1/state-machines/{name}";

/** The last part of a qualified ARN (…:stateMachine:name:3 → "3"), or null. */
function qualifier(arn) {
  const parts = String(arn || "").split(":");
  return parts.length > 7 ? parts[parts.length - 1] : null;
}

/** A version entry's number, an alias entry's name (as the start route takes them). */
export function versionOf(v) {
  return qualifier(v.stateMachineVersionArn);
}

export function aliasOf(a) {
  return a.name || qualifier(a.stateMachineAliasArn);
}

function versionRow(v) {
  const number = versionOf(v) || "?";
  return h("tr", {class: "version-row", dataset: {version: number}},
    h("td", null, "v" + number), h("td", null, formatTime(v.creationDate)));
}

function aliasRow(a) {
  const name = aliasOf(a) || "?";
  const routing = (a.routingConfiguration || []).map((r) =>
    `v${qualifier(r.stateMachineVersionArn) || "?"} ${r.weight}%`).join(" · ");
  return h("tr", {class: "alias-row", dataset: {alias: name}},
    h("td", null, name, a.description ? h("div", {class: "muted"}, a.description) : null),
    h("td", {class: "routing"}, routing || "—"), h("td", null, formatTime(a.creationDate)));
}

/** An alias as describe has it (its routing and description), or as listed. */
async function described(name, alias, canDescribe) {
  const short = qualifier(alias.stateMachineAliasArn);
  if (!canDescribe || !short) return alias;
  return api("GET", `/v1/state-machines/${enc(name)}/aliases/${enc(short)}`).catch(() => alias);
}

async function listed(route, name, key, more) {
  if (!(await hasRoute("GET", route))) return {error: "not on this server"};
  try {
    const data = await api("GET", route.replace("{name}", enc(name)));
    return {items: await more(data[key] || []), next: data.nextCursor};
  } catch (e) {
    return {error: `${e.code}: ${e.message}`};
  }
}

function show(body, found, row, generation) {
  if (!current(generation)) return;
  clear(body);
  const span = (text, cls) => h("tr", null, h("td", {colspan: "3", class: cls}, text));
  if (found.error) append(body, [span(`Not available (${found.error}).`, "empty")]);
  else if (!found.items.length) append(body, [span("None yet.", "empty")]);
  else append(body, found.items.map(row));
  if (found.next) append(body, [span("more…", "muted")]);
}

/** The versions and aliases of machine `name`: {versions, aliases}, each {items, next} or
 * {error} (the aliases with their routing and description when describe is served). */
export async function loadCatalog(name) {
  const [versions, canDescribe] = await Promise.all([
    listed(BASE + "/versions", name, "versions", async (items) => items),
    hasRoute("GET", BASE + "/aliases/{alias}")]);
  const aliases = await listed(BASE + "/aliases", name, "aliases",
    (items) => Promise.all(items.map((a) => described(name, a, canDescribe))));
  return {versions, aliases};
}

/** The card; its tables fill in when `loading` (loadCatalog's) ends (`generation`: view.js). */
export function catalogCard(loading, generation) {
  const versions = h("tbody", {id: "versions-body"});
  const aliases = h("tbody", {id: "aliases-body"});
  loading.then((found) => {
    show(versions, found.versions, versionRow, generation);
    show(aliases, found.aliases, aliasRow, generation);
  });
  const head = (...names) => h("thead", null, h("tr", null, names.map((c) => h("th", null, c))));
  return card("Versions and aliases",
    h("h3", null, "Published versions"),
    h("table", {class: "grid", id: "versions"}, head("Version", "Published"), versions),
    h("h3", null, "Aliases"),
    h("table", {class: "grid", id: "aliases"}, head("Alias", "Routing", "Created"), aliases));
}
