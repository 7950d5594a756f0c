/* The Start form of a state machine's page: its input is checked here before anything is sent. */

import {api, enc} from "../api.js";
import {card, h} from "../dom.js";
import {byteLength} from "../format.js";
import {aliasOf, versionOf} from "./catalog.js";

// The API's own limits (statemachine/api/problems.py), checked again by the server.
const MAX_PAYLOAD_BYTES = 256 * 1024;
const BAD_NAME = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]/;

/** What a start runs: the latest revision, or (once `catalog` has them: loadCatalog's) a
 * published version or an alias; the value is the start's body field and its value. */
function targetSelect(version, catalog) {
  const select = h("select", {id: "start-target", "aria-label": "What to run"},
    h("option", {value: ""}, `latest (now v${version})`));
  catalog.then((found) => {
    for (const v of found.versions.items || []) {
      select.appendChild(h("option", {value: "version:" + versionOf(v)}, "version " + versionOf(v)));
    }
    for (const a of found.aliases.items || []) {
      select.appendChild(h("option", {value: "alias:" + aliasOf(a)}, "alias " + aliasOf(a)));
    }
  });
  return select;
}

/** The form that starts an execution of `machine` with a JSON input and an optional name. */
export function startForm(machine, version, catalog) {
  const target = targetSelect(version, catalog);
  const input = h("textarea", {id: "start-input", rows: "8", spellcheck: "false",
    "aria-label": "Execution input (JSON)"}, "{}");
  const nameField = h("input", {id: "start-name", type: "text", placeholder: "optional",
    maxlength: "80", autocomplete: "off"});
  const message = h("p", {class: "form-message", id: "start-message", role: "alert"});
  const button = h("button", {type: "submit", class: "primary"}, "Start execution");

  function problem() {
    const text = input.value.trim() === "" ? "{}" : input.value;
    let value;
    try {
      value = JSON.parse(text);
    } catch (e) {
      return {error: "Input is not valid JSON: " + e.message +
        ". Example: {\"name\": \"Ada\"}"};
    }
    if (byteLength(text) > MAX_PAYLOAD_BYTES) {
      return {error: `Input is ${byteLength(text)} bytes; at most ${MAX_PAYLOAD_BYTES} allowed.`};
    }
    const name = nameField.value.trim();
    if (name && BAD_NAME.test(name)) {
      return {error: "Execution names may not contain whitespace, brackets, wildcards or " +
        "any of \"#%\\^|~`$&,;:/"};
    }
    return {value, name};
  }

  function show(text, kind) {
    message.textContent = text;
    message.className = "form-message " + (kind || "");
  }

  input.addEventListener("input", () => {
    const checked = problem();
    show(checked.error || "", checked.error ? "bad" : "");
    input.classList.toggle("invalid", Boolean(checked.error));
  });

  const form = h("form", {class: "start-form", id: "start-form", novalidate: true},
    h("label", {for: "start-input"}, "Input (JSON)"), input,
    h("label", {for: "start-name"}, "Execution name"), nameField,
    h("label", {for: "start-target"}, "Run"), target,
    h("div", {class: "form-row"}, button),
    message);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const checked = problem();
    if (checked.error) {
      show(checked.error, "bad");
      input.classList.add("invalid");
      return;
    }
    const body = {input: checked.value};
    if (checked.name) body.name = checked.name;
    const [kind, which] = target.value.split(/:(.*)/s);
    if (kind === "version") body.version = Number(which);
    if (kind === "alias") body.alias = which;
    button.disabled = true;
    show("Starting…", "");
    try {
      const started = await api("POST", "/v1/state-machines/" + enc(machine) + "/executions", body);
      location.hash = "#/executions/" + enc(started.executionId);
    } catch (e) {
      show(`${e.code}: ${e.message}`, "bad");
    } finally {
      button.disabled = false;
    }
  });
  return card("Start an execution", form);
}
