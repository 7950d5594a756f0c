/* History events: their details, their kinds. */

/** An event's details (its one ...EventDetails object), or null. */
export function detailsOf(event) {
  for (const [k, v] of Object.entries(event)) {
    if (k.endsWith("EventDetails") && v && typeof v === "object") return v;
  }
  return null;
}

/** What a task was scheduled with: TaskScheduled's parameters, the input of
 * LambdaFunctionScheduled and ActivityScheduled (as AWS names them). */
export function scheduledWith(details) {
  return details.parameters !== undefined ? details.parameters : details.input;
}

/** The state an event names (entered, exited), or null. */
export function nameOf(event) {
  const d = detailsOf(event);
  return d && d.name !== undefined ? String(d.name) : null;
}

/** History event types that report a failure (a state's, a task's or the execution's). */
export const FAILURE = /(Failed|TimedOut|Aborted)$/;

/** A task's outcome event (Task*, LambdaFunction*, Activity*). */
export const TASK_RESULT = /^(Task|LambdaFunction|Activity)(Succeeded|Failed|TimedOut|SubmitFailed|StartFailed)$/;

/** A Map's or Parallel's outcome event. */
export const CONTAINER_RESULT = /^(Map|Parallel)State(Succeeded|Failed)$/;

/** The family an outcome event reports on: "Map", "Parallel" or "Task". */
export function familyOf(type) {
  return type.startsWith("Map") ? "Map" : type.startsWith("Parallel") ? "Parallel" : "Task";
}
