/*
 * statemachine dashboard: executions, state machines, and one execution's graph, history
 * and timeline, all read from the /v1 JSON API of this origin. Native ES modules, no build
 * step: this one starts the router and the auto-refresh.
 */

import {checkSession, logout} from "./login.js";
import {route, tick} from "./router.js";

const REFRESH_MS = 2000;

function boot() {
  const auto = document.getElementById("autorefresh");
  try {
    auto.checked = localStorage.getItem("sm.autorefresh") !== "off";
  } catch (e) {
    auto.checked = true;
  }
  auto.addEventListener("change", () => {
    try { localStorage.setItem("sm.autorefresh", auto.checked ? "on" : "off"); } catch (e) { /* private mode */ }
  });
  document.getElementById("logout").addEventListener("click", () => logout(route));
  window.addEventListener("hashchange", route);
  checkSession();
  setInterval(tick, REFRESH_MS);
  route();
}

boot();
