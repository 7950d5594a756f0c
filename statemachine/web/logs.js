/* The History and Logs tabs of an execution's page. The log (GET /v1/executions/{id}/logs)
 * is what the state machine's loggingConfiguration logs of the history, as Step Functions
 * writes it to CloudWatch Logs: its level picks the events, includeExecutionData whether
 * their input and output stay. It is read when its tab is opened. */

import {api, enc, hasRoute} from "./api.js";
import {append, clear, h} from "./dom.js";
import {formatTime, prettyDetails} from "./format.js";
import {FAILURE} from "./events.js";

const MAX_PAGES = 20;

/** Every page of an execution's log so far: {config, events}. */
async function loadLog(id) {
  const events = [];
  let config = null;
  let cursor = null;
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const q = new URLSearchParams({limit: "1000"});
    if (cursor) q.set("cursor", cursor);
    const data = await api("GET", `/v1/executions/${enc(id)}/logs?` + q.toString());
    config = data.loggingConfiguration;
    events.push(...data.events);
    // the end: of an execution that has ended (null), or of a running one's log so far
    if (!data.nextCursor || data.nextCursor === cursor) break;
    cursor = data.nextCursor;
  }
  return {config, events};
}

/** One row per logged event: id, time, type, details (folded). */
function logTable(events) {
  const body = h("tbody", {id: "logs-body"});
  for (const event of events) {
    const type = String(event.type);
    const cls = "history-row" + (FAILURE.test(type) ? " bad" : type.endsWith("Succeeded") ? " good" : "");
    const said = event.details ? [event.details.name, event.details.error]
      .filter((x) => x !== undefined).join(" · ") : "";
    const details = event.details ? h("details", null, h("summary", null, said || "details"),
      h("pre", {class: "json"}, prettyDetails(event.details))) : h("span", {class: "muted"}, "—");
    append(body, [h("tr", {class: cls},
      h("td", {class: "num"}, event.id),
      h("td", {class: "time"}, formatTime(Number(event.event_timestamp))),
      h("td", {class: "type"}, type),
      h("td", {class: "details"}, details))]);
  }
  return h("div", {class: "history-wrap"}, h("table", {class: "grid history", id: "logs"},
    h("thead", null, h("tr", null, ["ID", "Time", "Type", "Details"].map((c) => h("th", null, c)))),
    body));
}

/** The Logs panel: the configuration it follows, then the events (read now). */
async function logPanel(id) {
  const {config, events} = await loadLog(id);
  const level = config ? config.level : "OFF";
  const note = h("p", {class: "muted", id: "logs-config"}, `Logging level ${level}` +
    (config && config.includeExecutionData ? ", with execution data" : ", without execution data") +
    ` · ${events.length} events`);
  if (level === "OFF") {
    return h("div", null, note, h("p", {class: "muted", id: "logs-off"},
      "This state machine logs nothing: set its loggingConfiguration (level ALL, ERROR or " +
      "FATAL) for the executions started afterwards."));
  }
  return h("div", null, note, logTable(events));
}

/** Whether this server serves executions' logs. */
export function hasLogs() {
  return hasRoute("GET", "/v1/executions/{id}/logs");
}

/**
 * A card with two tabs, History (`history`, shown at once) and Logs (read when opened; only
 * when `logs`: the server has the route); `chosen.tab` keeps the open one across the page's
 * renders.
 */
export function historyAndLogs(id, title, history, logs, chosen) {
  const panel = h("div", {class: "tab-panel", id: "tab-panel"});
  const buttons = {};
  const show = async (name) => {
    chosen.tab = name;
    for (const [key, button] of Object.entries(buttons)) {
      button.setAttribute("aria-selected", String(key === name));
    }
    clear(panel);
    if (name === "history") {
      append(panel, [history]);
      return;
    }
    append(panel, [h("p", {class: "muted"}, "Reading the log…")]);
    let shown;
    try {
      shown = await logPanel(id);
    } catch (e) {
      shown = h("p", {class: "error-text"}, e.message);
    }
    if (chosen.tab === "logs") append(clear(panel), [shown]);
  };
  const tab = (name, label) => {
    buttons[name] = h("button", {type: "button", role: "tab", class: "tab", id: "tab-" + name},
      label);
    buttons[name].addEventListener("click", () => show(name));
    return buttons[name];
  };
  const bar = h("div", {class: "tabs", role: "tablist"}, tab("history", title),
    logs ? tab("logs", "Logs") : null);
  show(logs && chosen.tab === "logs" ? "logs" : "history");
  return h("section", {class: "card"}, bar, panel);
}
