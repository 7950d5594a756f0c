/* The client of the /v1 JSON API of this origin. */

import {showLogin} from "./login.js";
import {setConn} from "./notice.js";
import {route} from "./router.js";

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * One request; the parsed JSON answer, or an ApiError {status, code, message}. The session
 * cookie goes along (same origin); a 401 puts the login form in the page's place.
 */
export async function api(method, path, body) {
  const init = {method, headers: {Accept: "application/json"}};
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    setConn(false, "API unreachable");
    throw new ApiError(0, "Unreachable", "the API did not answer: " + e.message);
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch (e) { data = null; }
  }
  setConn(true);
  if (response.status === 401) showLogin(data && data.message, route);
  if (!response.ok) {
    const code = data && data.error ? data.error : "HTTP " + response.status;
    const message = data && data.message ? data.message : response.statusText;
    throw new ApiError(response.status, code, message);
  }
  return data;
}

/** A path segment, escaped. */
export function enc(part) {
  return encodeURIComponent(part);
}

let described = null;

/**
 * Whether this server has a route (`method`, OpenAPI path template such as
 * "/v1/state-machines/{name}/versions"), read once from its /openapi.json, which lists every
 * route it serves (a test holds the two equal): a page leaves out what an older server or one
 * built without a part cannot answer, instead of asking and failing. Unknown: true.
 */
export async function hasRoute(method, path) {
  described = described || fetch("/openapi.json", {headers: {Accept: "application/json"}})
    .then((r) => (r.ok ? r.json() : null)).catch(() => null);
  const doc = await described;
  if (!doc || !doc.paths) return true;
  return Boolean(doc.paths[path] && doc.paths[path][method.toLowerCase()]);
}
