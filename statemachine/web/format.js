/* Formatting for display: times, durations, JSON, text lengths. */

export function toMillis(t) {
  if (t === null || t === undefined) return null;
  if (typeof t === "number") return t < 1e11 ? t * 1000 : t;
  const parsed = Date.parse(t);
  return Number.isNaN(parsed) ? null : parsed;
}

function pad(n, width) {
  return String(n).padStart(width || 2, "0");
}

export function formatTime(t) {
  const ms = toMillis(t);
  if (ms === null) return "—";
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function formatDuration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "—";
  if (ms < 0) ms = 0;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${pad(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86400)}d ${pad(Math.floor(s / 3600) % 24)}h`;
}

/** Pretty JSON for display. */
export function pretty(value) {
  if (value === undefined) return "";
  return JSON.stringify(value, null, 2);
}

/** A history event's details, with the JSON text of its input/output shown as JSON. */
export function prettyDetails(details) {
  return pretty(unpack(details));
}

function unpack(value) {
  if (typeof value === "string") {
    const text = value.trim();
    if (text.startsWith("{") || text.startsWith("[")) {
      try { return JSON.parse(text); } catch (e) { return value; }
    }
    return value;
  }
  if (Array.isArray(value)) return value.map(unpack);
  if (value && typeof value === "object") {
    const out = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = (k === "input" || k === "output" || k === "parameters") ? unpack(v) : v;
    }
    return out;
  }
  return value;
}

export function byteLength(text) {
  return new TextEncoder().encode(text).length;
}

export function shorten(text, max) {
  return text.length > max ? text.slice(0, max - 1) + "…" : text;
}
