/* A Distributed Map's Map Run: its status and settings, its children counted by status with a
 * progress bar, and its child executions (each a link to its own execution page). */

import {api, enc} from "../api.js";
import {append, badge, card, clear, h} from "../dom.js";
import {formatDuration, formatTime, toMillis} from "../format.js";
import {Status} from "../statuses.js";
import {current, view} from "../view.js";

const PAGE = 100;
const COUNTS = ["pending", "running", "succeeded", "failed", "timedOut", "aborted", "total"];

/** The id an execution page takes: a Map Run child's name (its id with "." for "/", since a
 * URL path segment cannot carry "/"), else the id itself. */
export function pageId(executionId) {
  return executionId.split("/").join(".");
}

/** The id a Map Run's page takes: what its ARN ends with. */
export function runId(mapRunArn) {
  return mapRunArn.split(":").pop();
}

export async function mapRunPage(main, id) {
  const generation = view.generation;
  let run;
  let children;
  let cursor = null;
  try {
    [run, children] = await Promise.all([
      api("GET", "/v1/map-runs/" + enc(id)), loadChildren(id, null)]);
  } catch (e) {
    append(main, [h("h1", null, "Map Run"), card(null, h("p", {class: "error-text"}, e.message))]);
    return;
  }
  if (!current(generation)) return;
  cursor = children.nextCursor;
  let rows = children.executions;

  async function more() {
    const page = await loadChildren(id, cursor);
    if (!current(generation)) return;
    rows = rows.concat(page.executions);
    cursor = page.nextCursor;
    render();
  }

  function render() {
    clear(main);
    append(main, [
      h("div", {class: "page-head"},
        h("h1", null, h("span", {class: "muted"}, "Map Run "), label(run.mapRunArn), " ",
          badge(run.status)),
        h("div", {class: "toolbar"}, h("a", {class: "button", id: "x-run-parent",
          href: "#/executions/" + enc(pageId(run.executionId))}, "Execution " + run.executionId))),
      h("div", {class: "columns"},
        h("div", {class: "col-narrow"}, summary(run)),
        h("div", {class: "col-wide"}, countsCard(run))),
      card(`Child executions (${run.executionCounts.total})`,
        h("table", {class: "grid", id: "run-children"},
          h("thead", null, h("tr", null, ["Status", "Name", "Items", "Started", "Stopped",
            "Duration"].map((c) => h("th", null, c)))),
          h("tbody", null, rows.map(childRow))),
        cursor ? h("div", {class: "pager"}, h("button", {type: "button", id: "run-more",
          onclick: () => more()}, "More")) : null),
    ]);
  }

  render();
  view.refresh = async () => {
    if (run.status !== Status.RUNNING) return;
    const [fresh, first] = await Promise.all([
      api("GET", "/v1/map-runs/" + enc(id)), loadChildren(id, null)]);
    if (!current(generation)) return;
    run = fresh;
    rows = first.executions;
    cursor = first.nextCursor;
    render();
  };
}

function loadChildren(id, cursor) {
  const q = new URLSearchParams({limit: String(PAGE)});
  if (cursor) q.set("cursor", cursor);
  return api("GET", `/v1/map-runs/${enc(id)}/executions?` + q.toString());
}

/** `<machine>/<label>` of a Map Run's ARN. */
function label(mapRunArn) {
  return mapRunArn.split(":").slice(-2, -1)[0];
}

function summary(run) {
  const rows = [
    ["Status", badge(run.status)],
    ["Map Run", h("code", {id: "x-run-arn"}, run.mapRunArn)],
    ["Max concurrency", h("span", {id: "x-run-mc"}, run.maxConcurrency ? String(run.maxConcurrency)
      : "no limit")],
    ["Tolerated failures", `${run.toleratedFailureCount} · ${run.toleratedFailurePercentage}%`],
    ["Started", formatTime(run.startDate)],
    ["Stopped", formatTime(run.stopDate)],
  ];
  return card("Summary", h("dl", {class: "summary"},
    rows.map(([k, v]) => [h("dt", null, k), h("dd", null, v)])));
}

/** The children counted by status, and how many of them have ended as a progress bar. */
function countsCard(run) {
  const c = run.executionCounts;
  const ended = c.succeeded + c.failed + c.timedOut + c.aborted;
  const share = c.total ? Math.round(ended * 100 / c.total) : 100;
  return card("Progress",
    h("div", {class: "progress", id: "x-progress", role: "progressbar", "aria-valuemin": "0",
      "aria-valuemax": String(c.total), "aria-valuenow": String(ended)},
      h("div", {class: "progress-done", style: `width: ${share}%`})),
    h("p", {class: "muted", id: "x-progress-text"}, `${ended} of ${c.total} children ended (${share}%)`),
    h("table", {class: "grid", id: "run-counts"},
      h("thead", null, h("tr", null, h("th", null, ""), COUNTS.map((k) => h("th", null, k)))),
      h("tbody", null,
        h("tr", null, h("th", null, "Executions"),
          COUNTS.map((k) => h("td", {"data-count": k}, String(c[k])))),
        h("tr", null, h("th", null, "Items"),
          COUNTS.map((k) => h("td", null, String(run.itemCounts[k])))))));
}

function childRow(child) {
  const start = toMillis(child.startDate);
  const stop = toMillis(child.stopDate);
  return h("tr", null,
    h("td", null, badge(child.status)),
    h("td", null, h("a", {class: "run-child", href: "#/executions/" + enc(child.name)},
      child.name)),
    h("td", null, String(child.itemCount)),
    h("td", null, formatTime(start)),
    h("td", null, formatTime(stop)),
    h("td", null, formatDuration((stop || Date.now()) - start)));
}
