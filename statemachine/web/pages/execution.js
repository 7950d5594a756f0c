/* One execution's page: head and summary (execution-head.js), graph with the path taken,
 * timeline, and history with the log beside it (logs.js); when a dead letter holds the execution up, a "Stalled" card with its
 * error and a requeue button. */

import {api, enc, hasRoute} from "../api.js";
import {parseDefinition} from "../definition.js";
import {append, card, clear, h} from "../dom.js";
import {formatTime} from "../format.js";
import {graphView, legend} from "../graph.js";
import {historyTable} from "../history.js";
import {hasLogs, historyAndLogs} from "../logs.js";
import {flash} from "../notice.js";
import {Status} from "../statuses.js";
import {timelineView} from "../timeline.js";
import {traceHistory} from "../trace.js";
import {current, view} from "../view.js";
import {executionHead, summaryCard} from "./execution-head.js";

const MAX_HISTORY_PAGES = 20;

export async function executionPage(main, id) {
  const generation = view.generation;
  let execution;
  try {
    execution = await api("GET", "/v1/executions/" + enc(id));
  } catch (e) {
    append(main, [h("h1", null, "Execution"), card(null, h("p", {class: "error-text"}, e.message))]);
    return;
  }
  if (!current(generation)) return;
  const machine = await api("GET", `/v1/state-machines/${enc(execution.stateMachine)}?version=` +
    enc(execution.version)).catch(() => null);
  let events = await loadHistory(id);
  const redrive = await hasRoute("POST", "/v1/executions/{id}/redrive");
  const logs = await hasLogs();
  const chosen = {tab: "history"};  // the History or Logs tab, kept across renders
  let mapRuns = await loadMapRuns(id);
  if (!current(generation)) return;
  const definition = machine ? parseDefinition(machine.definition) : null;
  let key = "";

  const reload = async () => {
    execution = await api("GET", "/v1/executions/" + enc(id));
    events = await loadHistory(id);
    mapRuns = await loadMapRuns(id);
    if (current(generation)) render();
  };

  function render() {
    key = stateKey(execution, events);
    clear(main);
    const trace = traceHistory(events, definition, execution);
    append(main, [
      executionHead(execution, reload, {redrive}),
      stallCard(execution, reload),
      h("div", {class: "columns"},
        h("div", {class: "col-narrow"}, summaryCard(execution, mapRuns)),
        h("div", {class: "col-wide"}, card("Graph",
          definition ? graphView(definition, trace) : h("p", {class: "muted"},
            "The state machine definition is not available."),
          legend()))),
      card("Timeline", timelineView(trace, execution)),
      historyAndLogs(id, `History (${events.length} events)`, historyTable(events, execution),
        logs, chosen),
    ]);
  }

  render();
  view.refresh = async () => {
    if (execution.status !== Status.RUNNING) return;
    const fresh = await api("GET", "/v1/executions/" + enc(id));
    const freshEvents = await loadHistory(id);
    const freshRuns = await loadMapRuns(id);
    if (!current(generation)) return;
    execution = fresh;
    events = freshEvents;
    mapRuns = freshRuns;
    if (stateKey(execution, events) !== key) render();
  };
}

/** What a re-render depends on: the status, the history's length, the stall. */
function stateKey(execution, events) {
  return execution.status + "/" + events.length + "/" + Boolean(execution.stalled);
}

/** The dead letters holding a RUNNING execution up, each with its error and a requeue button
 * (requeueing needs the operator role; a refusal is flashed). */
function stallCard(execution, reload) {
  if (!execution.stalled) return null;
  const rows = (execution.stalledBy || []).map((letter) => {
    const requeue = h("button", {type: "button", class: "requeue"}, "Requeue");
    requeue.addEventListener("click", async () => {
      requeue.disabled = true;
      try {
        await api("POST", "/v1/dead-letters/" + enc(letter.id) + "/requeue", {});
        await reload();
      } catch (e) {
        flash(`${e.code}: ${e.message}`);
        requeue.disabled = false;
      }
    });
    return h("li", null, h("code", null, letter.id), " ", h("span", {class: "muted"},
      (letter.kind || "?") + " · " + formatTime(letter.at)), " ", requeue,
      h("div", {class: "error-text"}, letter.error));
  });
  return h("section", {class: "card stalled", id: "stalled"}, h("h2", null, "Stalled"),
    h("p", null, "A work item of this execution failed on every delivery and was moved to the " +
      "dead letters: the execution will not move on until it is requeued (once its cause " +
      "is fixed)."),
    h("ul", {class: "stalls"}, rows));
}

/** The execution's Map Runs (none from a server without the route). */
async function loadMapRuns(id) {
  if (!(await hasRoute("GET", "/v1/executions/{id}/map-runs"))) return [];
  return (await api("GET", `/v1/executions/${enc(id)}/map-runs`)).mapRuns;
}

async function loadHistory(id) {
  const events = [];
  let cursor = null;
  for (let page = 0; page < MAX_HISTORY_PAGES; page += 1) {
    const q = new URLSearchParams({limit: "1000"});
    if (cursor) q.set("cursor", cursor);
    const data = await api("GET", `/v1/executions/${enc(id)}/history?` + q.toString());
    events.push(...data.events);
    cursor = data.nextCursor;
    if (!cursor) break;
  }
  return events;
}
