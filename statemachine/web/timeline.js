/* The timeline: one bar per state entry, on the execution's time axis, coloured by its final
 * outcome (its last attempt's). */

import {h} from "./dom.js";
import {formatDuration} from "./format.js";
import {Status} from "./statuses.js";

const MAX_TIMELINE_BARS = 300;

export function timelineView(trace, execution) {
  const entries = trace.entries;
  if (!entries.length) return h("p", {class: "muted"}, "No state entered yet.");
  const now = Date.now();
  const t0 = trace.start;
  const t1 = Math.max(trace.end || now, ...entries.map((e) => e.end || e.start || t0));
  const span = Math.max(1, t1 - t0);
  const shown = entries.slice(0, MAX_TIMELINE_BARS);
  const counts = {};
  const rows = shown.map((entry) => {
    const label = entryLabel(entry, counts);
    const end = entry.end === null ? (execution.status === Status.RUNNING ? now : t1) : entry.end;
    const left = ((entry.start - t0) / span) * 100;
    const width = Math.max(((end - entry.start) / span) * 100, 0);
    const bar = h("div", {class: `bar o-${entry.outcome}`,
      title: `${label}: ${formatDuration(end - entry.start)} (${outcomeText(entry)})`});
    bar.style.left = `${Math.min(left, 100)}%`;
    bar.style.width = `max(3px, ${Math.min(width, 100 - left)}%)`;
    return h("div", {class: "tl-row"},
      h("div", {class: "tl-label", title: label}, label),
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

/** A state's name, the Map item index it ran for (" [2]", " [2][0]" nested), and "#n" when
 * the same thread entered it again (a loop). */
function entryLabel(entry, counts) {
  const key = entry.thread.key + "\u0000" + entry.name;
  counts[key] = (counts[key] || 0) + 1;
  const item = entry.thread.path.length ? " " + entry.thread.path.map((i) => `[${i}]`).join("") : "";
  return entry.name + item +
    (counts[key] > 1 ? ` #${counts[key]}` : "");
}

/** "succeeded", "succeeded after 2 retries", "failed (caught)", ... */
export function outcomeText(entry) {
  const retries = Math.max(0, entry.attempts - 1);
  const after = retries ? ` after ${retries} ${retries === 1 ? "retry" : "retries"}` : "";
  return entry.outcome + (entry.outcome === "running" ? "" : after) +
    (entry.outcome === "failed" && entry.exited ? " (caught)" : "");
}
