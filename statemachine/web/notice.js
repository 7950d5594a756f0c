/* The page's own messages: the API connection badge and the dismissable flash banner. */

import {append, clear, h} from "./dom.js";
import {view} from "./view.js";

export function setConn(ok, text) {
  const el = document.getElementById("conn");
  el.className = "conn " + (ok ? "ok" : "down");
  el.textContent = ok ? "API ok" : text;
}

export function flash(message) {
  const el = document.getElementById("flash");
  if (!message || view.login) {  // the login form says why the page is not shown
    el.hidden = true;
    return;
  }
  clear(el);
  append(el, [message, " ", h("button", {class: "link", onclick: () => flash(null)}, "dismiss")]);
  el.hidden = false;
}
