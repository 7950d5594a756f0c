/*
 * The login: the form the page shows when the API answers 401 (a key's secret, sent once to
 * POST /v1/session, which sets the session cookie), the signed-in key in the top bar, and
 * the logout. The secret never goes into storage or the address bar: the cookie is
 * HttpOnly, so no script on the page can read the session either.
 */

import {card, clear, h} from "./dom.js";
import {view} from "./view.js";

const JSON_HEADERS = {"Content-Type": "application/json", Accept: "application/json"};

/** Show the login form instead of the page; `after` runs once the login succeeded. */
export function showLogin(message, after) {
  if (view.login) return;
  view.generation += 1;
  view.refresh = null;
  view.login = true;
  document.getElementById("flash").hidden = true;
  whoami(null);
  const secret = h("input", {id: "login-secret", type: "password", autocomplete: "current-password",
    "aria-label": "API key secret", placeholder: "API key secret"});
  const note = h("p", {class: "form-message bad", id: "login-message", role: "alert"},
    message || "");
  const form = h("form", {class: "login-form", id: "login-form", novalidate: true},
    h("label", {for: "login-secret"}, "API key secret"), secret,
    h("div", {class: "form-row"}, h("button", {type: "submit", class: "primary"}, "Log in")),
    note);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const response = await fetch("/v1/session", {method: "POST", headers: JSON_HEADERS,
      body: JSON.stringify({secret: secret.value.trim()})}).catch(() => null);
    const data = response ? await response.json().catch(() => null) : null;
    if (!response || !response.ok) {
      note.textContent = (data && data.message) || "the API did not answer";
      return;
    }
    view.login = false;
    whoami(data.key);
    after();
  });
  const main = clear(document.getElementById("main"));
  main.appendChild(card("Log in",
    h("p", {class: "muted"}, "Open the login link that 'python cli.py serve' printed, or " +
      "enter an API key's secret ('python cli.py keys create --role viewer' makes one)."),
    form));
  secret.focus();
}

/** Show the signed-in key (null: none) and the logout button in the top bar. */
export function whoami(key) {
  const who = document.getElementById("who");
  who.textContent = key ? `${key.name || key.id} (${key.role})` : "";
  document.getElementById("logout").hidden = !key;
}

/** Ask who is signed in (at start); a 401 here is left to the page's own first request. */
export async function checkSession() {
  const response = await fetch("/v1/session", {headers: {Accept: "application/json"}})
    .catch(() => null);
  if (response && response.ok) {
    const data = await response.json();
    whoami(data.via === "session" ? data.key : null);
  }
}

/** End the session, then show the form. */
export async function logout(after) {
  await fetch("/v1/session", {method: "DELETE", headers: {Accept: "application/json"}})
    .catch(() => null);
  showLogin("Logged out.", after);
}
