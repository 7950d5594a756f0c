/* The router: the location hash picks the page; the auto-refresh tick refreshes it. */

import {clear} from "./dom.js";
import {flash} from "./notice.js";
import {executionPage} from "./pages/execution.js";
import {executionsPage} from "./pages/executions.js";
import {mapRunPage} from "./pages/map-run.js";
import {machinePage} from "./pages/machine.js";
import {machinesPage} from "./pages/machines.js";
import {view} from "./view.js";

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const [path, query] = raw.split("?");
  const parts = path.split("/").filter(Boolean).map((p) => {
    try { return decodeURIComponent(p); } catch (e) { return p; }
  });
  return {parts, query: new URLSearchParams(query || "")};
}

export function route() {
  view.generation += 1;
  view.refresh = null;
  view.login = false;
  flash(null);
  const {parts, query} = parseHash();
  const main = clear(document.getElementById("main"));
  const section = parts[0] === "machines" ? "machines" : "executions";
  for (const link of document.querySelectorAll("[data-nav]")) {
    link.classList.toggle("active", link.dataset.nav === section);
  }
  if (parts[0] === "executions" && parts[1]) return executionPage(main, parts[1]);
  if (parts[0] === "map-runs" && parts[1]) return mapRunPage(main, parts[1]);
  if (parts[0] === "machines" && parts[1]) return machinePage(main, parts[1], query);
  if (parts[0] === "machines") return machinesPage(main);
  return executionsPage(main, query);
}

export function tick() {
  const auto = document.getElementById("autorefresh");
  if (auto.checked && view.refresh && !document.hidden) {
    view.refresh().catch((e) => flash(e.message));
  }
}
