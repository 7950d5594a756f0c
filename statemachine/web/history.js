/* The history table: one row per event, its details folded. */

import {append, h} from "./dom.js";
import {formatDuration, formatTime, prettyDetails, shorten, toMillis} from "./format.js";
import {FAILURE, detailsOf} from "./events.js";

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

export function historyTable(events, execution) {
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
