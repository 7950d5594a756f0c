/*
 * Which page is shown. A page notes view.generation when it starts and checks current()
 * after every await, so an answer that arrives after the user went elsewhere is dropped;
 * view.refresh is the shown page's auto-refresh (or null); view.login is true while the login
 * form stands in the page's place.
 */

export const view = {generation: 0, refresh: null, login: false};

/** Whether the page started at `generation` is still the one shown. */
export function current(generation) {
  return generation === view.generation;
}
