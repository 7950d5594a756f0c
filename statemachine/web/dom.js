/*
 * Small DOM helpers. Every piece of data goes on the page as text (text nodes, attribute
 * values through setAttribute): nothing from the API ever goes through innerHTML, so a state
 * name or an error cause such as "<img onerror=...>" is shown, never run.
 */

const SVG_NS = "http://www.w3.org/2000/svg";

/** Append children (strings become text nodes; null/false are skipped; arrays flatten). */
export function append(parent, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else if (child instanceof Node) parent.appendChild(child);
    else parent.appendChild(document.createTextNode(String(child)));
  }
  return parent;
}

/** Set attributes and listeners: {class, onclick: fn, ...}; values are never parsed as HTML. */
function setProps(el, props) {
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  return el;
}

/** An HTML element: h("a", {href: "#/"}, "text", child, ...). */
export function h(tag, props, ...children) {
  return append(setProps(document.createElement(tag), props), children);
}

/** An SVG element, same calling convention as h(). */
export function svg(tag, props, ...children) {
  return append(setProps(document.createElementNS(SVG_NS, tag), props), children);
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function card(title, ...children) {
  return h("section", {class: "card"}, title ? h("h2", null, title) : null, ...children);
}

export function badge(status) {
  return h("span", {class: "badge s-" + String(status || "UNKNOWN").toLowerCase()}, status || "?");
}
