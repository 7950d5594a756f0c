/* The head of an execution's page (its name, status and the Stop or Redrive button) and its
 * summary card (status, ids, version and alias, redrives, nested-execution links, times,
 * input and output). */

import {api, enc} from "../api.js";
import {badge, card, h} from "../dom.js";
import {formatDuration, formatTime, pretty, toMillis} from "../format.js";
import {flash} from "../notice.js";
import {Status} from "../statuses.js";
import {runId} from "./map-run.js";

/** The statuses AWS lets an execution be redriven from (RedriveExecution). */
const REDRIVABLE = [Status.FAILED, Status.TIMED_OUT, Status.ABORTED];

/** A button that asks `question`, then POSTs to `path` and reloads the page's data; a
 * refusal (a role too small, an execution no longer redrivable, ...) is flashed. */
function actionButton(label, id, cls, question, path, reload) {
  const button = h("button", {type: "button", class: cls, id}, label);
  button.addEventListener("click", async () => {
    if (!window.confirm(question)) return;
    button.disabled = true;
    try {
      await api("POST", path, {});
      await reload();
    } catch (e) {
      flash(`${e.code}: ${e.message}`);
      button.disabled = false;
    }
  });
  return button;
}

/** `can.redrive`: whether this server has the redrive route. */
export function executionHead(execution, reload, can) {
  const path = "/v1/executions/" + enc(execution.executionId);
  const stop = execution.status === Status.RUNNING ? actionButton("Stop execution", "stop",
    "danger", `Stop execution ${execution.name}? It will end as ${Status.ABORTED}.`,
    path + "/stop", reload) : null;
  const redrive = can.redrive && REDRIVABLE.includes(execution.status) ? actionButton("Redrive", "redrive",
    "primary", `Redrive execution ${execution.name}? It resumes in the state that did not ` +
    "succeed; the states that succeeded are not run again.", path + "/redrive", reload) : null;
  return h("div", {class: "page-head"},
    h("h1", null, h("span", {class: "muted"}, "Execution "), execution.name, " ",
      badge(execution.status), execution.stalled ? [" ", h("span",
        {class: "badge s-stalled", id: "x-stalled"}, "STALLED")] : null),
    h("div", {class: "toolbar"},
      h("a", {class: "button", href: "#/machines/" + enc(execution.stateMachine) + "?version=" +
        enc(execution.version)}, execution.stateMachine + " v" + execution.version),
      stop, redrive));
}

/** A link to the execution page of `executionId`. */
function executionLink(executionId, cls) {
  return h("a", {href: "#/executions/" + enc(executionId), class: cls}, executionId);
}

/** `mapRuns`: the Map Runs of the execution's Distributed Maps (links to their pages). */
export function summaryCard(execution, mapRuns) {
  const start = toMillis(execution.startDate);
  const stop = toMillis(execution.stopDate);
  const redrives = execution.redriveCount || 0;
  const rows = [
    ["Status", badge(execution.status)],
    ["Execution id", h("code", null, execution.executionId)],
    ["State machine", execution.stateMachine + " v" + execution.version],
    execution.stateMachineVersionArn ? ["Version", h("code", {id: "x-version-arn"},
      execution.stateMachineVersionArn)] : null,
    execution.stateMachineAliasArn ? ["Alias", h("code", {id: "x-alias-arn"},
      execution.stateMachineAliasArn)] : null,
    execution.queue || execution.taskQueue ? ["Queue", h("span", {id: "x-queue"},
      execution.queue || "default",
      execution.taskQueue ? h("span", {id: "x-task-queue"}, " · this task on " +
        execution.taskQueue) : null,
      execution.waitingForWorker ? [" ", h("span", {class: "badge s-stalled", id: "x-no-worker"},
        "waiting for a worker on queue " + (execution.taskQueue || execution.queue))] : null)]
      : null,
    execution.startedBy ? ["Started by", h("span", {id: "x-started-by"},
      executionLink(execution.startedBy.executionId, "parent-link"),
      h("span", {class: "muted"}, " · " + execution.startedBy.pattern))] : null,
    execution.mapRunArn ? ["Map Run", h("a", {id: "x-map-run", href: "#/map-runs/" +
      enc(runId(execution.mapRunArn))}, execution.label)] : null,
    mapRuns && mapRuns.length ? ["Map Runs", h("span", {id: "x-map-runs"},
      mapRuns.map((run, i) => [i ? ", " : null, h("a", {class: "map-run-link",
        href: "#/map-runs/" + enc(run.mapRunId)}, run.mapRunId), " ", badge(run.status)]))]
      : null,
    execution.nestedExecutions ? ["Nested executions", h("span", {id: "x-nested"},
      execution.nestedExecutions.map((child, i) => [i ? ", " : null,
        executionLink(child.executionId, "child-link")]))] : null,
    ["Redrives", h("span", {id: "x-redrives"}, String(redrives),
      execution.redriveDate ? h("span", {class: "muted"},
        " · last " + formatTime(execution.redriveDate)) : null)],
    ["Started", formatTime(start)],
    ["Stopped", formatTime(stop)],
    ["Duration", formatDuration((stop || Date.now()) - start) + (stop ? "" : " so far")],
  ].filter(Boolean);
  if (execution.error) rows.push(["Error", h("span", {class: "error-text", id: "x-error"}, execution.error)]);
  if (execution.cause) rows.push(["Cause", h("span", {class: "cause", id: "x-cause"}, execution.cause)]);
  return card("Summary",
    h("dl", {class: "summary", id: "summary"}, rows.map(([k, v]) => [h("dt", null, k), h("dd", null, v)])),
    h("h3", null, "Input"), h("pre", {class: "json", id: "x-input"}, pretty(execution.input)),
    h("h3", null, "Output"), h("pre", {class: "json", id: "x-output"},
      execution.output === null || execution.output === undefined ? "—" : pretty(execution.output)));
}
