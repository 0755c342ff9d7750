// Small DOM helpers: build elements without innerHTML, so no server text is ever parsed as HTML.

/**
 * Create an element. `props`: attributes (class, for, aria-*, data-*...), `on*` listeners
 * (functions), `text`; children: nodes, strings, or null/false (skipped).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "text") {
      el.textContent = String(value);
    } else if (key === "class") {
      el.className = value;
    } else if (key in el && typeof value !== "string") {
      el[key] = value; // properties such as checked, disabled, value
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

let idCounter = 0;
export function uid(prefix = "id") {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** Announce a message to screen-reader users and show it in the status line. */
export function announce(message, kind = "info") {
  const live = document.getElementById("live");
  if (!live) return;
  live.textContent = message;
  live.dataset.kind = kind;
  live.hidden = !message;
}
