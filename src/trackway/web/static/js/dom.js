// A tiny element builder: h("button", {class: "button", onclick}, "Save").

let counter = 0;

/** A unique id for label/aria wiring. */
export function uid(prefix = "tw") {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** Create an element. Attributes starting with "on" become listeners; `false`/`null` are
 * left out; children may be strings, nodes, arrays or null. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "class") {
      el.className = value;
    } else if (key === "value" || key === "checked" || key === "selected") {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** Replace an element's children. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A labelled form field: the label is tied to the control by id. */
export function field(labelText, control, extra = {}) {
  const id = control.id || uid("field");
  control.id = id;
  return h("div", { class: `field ${extra.class || ""}` }, h("label", { for: id }, labelText), control);
}

/** A <select> from [value, text] pairs. */
export function select(options, value, attrs = {}) {
  const el = h("select", attrs);
  for (const [optionValue, text] of options) {
    el.append(h("option", { value: optionValue, selected: optionValue === value }, text));
  }
  return el;
}

/** Calls `fn` once calls stop for `ms`. */
export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** A short message at the bottom of the screen, announced to screen readers. */
export function toast(message) {
  const el = h("div", { class: "toast", role: "status" }, message);
  document.body.append(el);
  setTimeout(() => el.remove(), 2500);
}
